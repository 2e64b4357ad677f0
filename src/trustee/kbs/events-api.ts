/**
 * The event API (our addition, an admin row of the route table): `GET /kbs/v0/events` answers
 * the newest recorded events of all replicas as JSON lines (`application/x-ndjson`), oldest
 * first; `?follow=true` keeps the response open and adds each new event as it is recorded.
 * Filters: `kind`, `verdict`, `tee`, `resource`, `since`, `limit`.
 */
import type { ServerResponse } from "node:http";
import {
  EVENT_QUERY_PARAMS,
  EventError,
  type EventFilter,
  type EventRecorder,
  parseEventFilter,
  type TrusteeEvent,
} from "../events/index.js";
import { err } from "./context.js";
import type { Route } from "./routes.js";

/** Bytes a follower may leave unread before its stream is closed. */
const MAX_UNREAD_BYTES = 4 * 1024 * 1024;

/** Parses the query of an event request; a bad value is a 404 InvalidRequestPath naming it. */
export function eventFilterOf(query: Readonly<Record<string, string>>): EventFilter {
  try {
    return parseEventFilter(query);
  } catch (e) {
    if (e instanceof EventError)
      throw err("ERR_KBS_INVALID_PATH", `Invalid request path: ${e.message}`, e);
    throw e;
  }
}

/** Streams `events` to `res` from now on until the client leaves; returns when it did. */
export function followEvents(
  events: EventRecorder,
  filter: EventFilter,
  res: ServerResponse,
  write: (e: TrusteeEvent) => string,
  heartbeat?: { everyMs: number; text: string },
): Promise<void> {
  return new Promise((resolve) => {
    const stop = events.follow(filter, (e) => {
      // A reader that does not keep up is cut off rather than buffered without bound.
      if (res.writableLength > MAX_UNREAD_BYTES) {
        res.destroy();
        return;
      }
      res.write(write(e));
    });
    const beat =
      heartbeat !== undefined
        ? setInterval(() => res.write(heartbeat.text), heartbeat.everyMs)
        : undefined;
    beat?.unref();
    const done = () => {
      stop();
      if (beat !== undefined) clearInterval(beat);
      resolve();
    };
    res.once("close", done);
  });
}

/** The event API's rows. */
export function createEventRoutes(events: EventRecorder): Route[] {
  return [
    {
      method: "GET",
      path: "/kbs/v0/events",
      admin: { endpoint: "events" },
      query: EVENT_QUERY_PARAMS,
      async handle({ req, res, path }) {
        req.resume();
        const filter = eventFilterOf(path.query);
        const follow = path.query.follow === "true";
        const backlog = await events.query(filter);
        res.writeHead(200, {
          "content-type": "application/x-ndjson",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        });
        res.write(backlog.map((e) => `${JSON.stringify(e)}\n`).join(""));
        if (!follow) {
          res.end();
          return;
        }
        // Older events than those already sent are not repeated.
        const { limit: _limit, ...live } = filter;
        await followEvents(events, live, res, (e) => `${JSON.stringify(e)}\n`);
      },
    },
  ];
}
