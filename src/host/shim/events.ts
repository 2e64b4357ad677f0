/**
 * Publishes task events back to containerd, in order, over its ttrpc socket
 * (`containerd.services.events.ttrpc.v1.Events/Forward`, as containerd's own shims do in
 * pkg/shim/publisher.go). Each event travels in a `containerd.types.Envelope` whose `Any` names
 * the event by its full protobuf name (what typeurl writes for an unregistered proto message).
 * Publishing never blocks a task call: events queue and are sent one at a time; a failed send is
 * retried a few times with a growing delay, then dropped with a log line, as upstream.
 */
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { AnySchema, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  TaskCreateSchema,
  TaskDeleteSchema,
  TaskExecAddedSchema,
  TaskExecStartedSchema,
  TaskExitSchema,
  TaskOOMSchema,
  TaskStartSchema,
} from "../../protocol/proto/containerd/events/task_pb.js";
import { Events } from "../../protocol/proto/containerd/services/ttrpc/events/v1/events_pb.js";
import { TtrpcClient } from "../../protocol/ttrpc/index.js";

/** containerd's task event topics (core/runtime/events.go). */
export const TOPICS = {
  create: "/tasks/create",
  start: "/tasks/start",
  exit: "/tasks/exit",
  delete: "/tasks/delete",
  execAdded: "/tasks/exec-added",
  execStarted: "/tasks/exec-started",
  oom: "/tasks/oom",
} as const;

/** The event messages by topic. */
const SCHEMAS = {
  [TOPICS.create]: TaskCreateSchema,
  [TOPICS.start]: TaskStartSchema,
  [TOPICS.exit]: TaskExitSchema,
  [TOPICS.delete]: TaskDeleteSchema,
  [TOPICS.execAdded]: TaskExecAddedSchema,
  [TOPICS.execStarted]: TaskExecStartedSchema,
  [TOPICS.oom]: TaskOOMSchema,
} as const;

type Topic = keyof typeof SCHEMAS;

/** The namespace header containerd's ttrpc services read (pkg/namespaces/ttrpc.go). */
const NAMESPACE_HEADER = "containerd-namespace-ttrpc";

/** Something that takes task events. */
export interface EventSink {
  publish<T extends Topic>(topic: T, event: MessageInitShape<(typeof SCHEMAS)[T]>): void;
  /** Resolves when every queued event was sent or dropped. */
  flush(): Promise<void>;
  close(): void;
}

/** Packs an event as containerd's `Any`: type URL = the message's full name. */
export function packEvent(desc: DescMessage, init: object): { typeUrl: string; value: Uint8Array } {
  // biome-ignore lint/suspicious/noExplicitAny: init is checked by create() against desc
  const value = toBinary(desc, create(desc, init as any));
  return { typeUrl: desc.typeName, value };
}

/** A publisher to containerd's ttrpc address; "" gives one that only logs. */
export function createEventPublisher(opts: {
  ttrpcAddress: string;
  namespace: string;
  log: (line: string) => void;
  retryDelayMs?: number;
}): EventSink {
  const client = opts.ttrpcAddress
    ? new TtrpcClient(opts.ttrpcAddress, { timeoutMs: 5000 })
    : undefined;
  const delay = opts.retryDelayMs ?? 1000;
  let chain: Promise<void> = Promise.resolve();
  return {
    publish(topic, event) {
      const any = packEvent(SCHEMAS[topic], event);
      const envelope = {
        timestamp: timestampFromDate(new Date()),
        namespace: opts.namespace,
        topic,
        event: create(AnySchema, any),
      };
      chain = chain.then(async () => {
        if (!client) {
          opts.log(`event ${topic} not sent: containerd gave no ttrpc address`);
          return;
        }
        for (let attempt = 1; ; attempt++) {
          try {
            await client.unary(
              Events.method.forward,
              { envelope },
              {
                metadata: [{ key: NAMESPACE_HEADER, value: opts.namespace }],
              },
            );
            return;
          } catch (err) {
            if (attempt > 5) {
              opts.log(
                `event ${topic} dropped after ${attempt} attempts: ${(err as Error).message}`,
              );
              return;
            }
            await new Promise((r) => setTimeout(r, delay * attempt));
          }
        }
      });
    },
    flush: () => chain,
    close() {
      client?.close();
    },
  };
}
