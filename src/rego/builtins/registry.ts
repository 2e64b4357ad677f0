import type { BuiltinTable } from "./types.js";

/**
 * Every builtin namespace table, merged in this order (later tables win on a name clash,
 * which a test forbids). Add one import and one entry per namespace file.
 */
const TABLES: ReadonlyArray<BuiltinTable> = [];

/** All builtins by full dotted name. */
export const BUILTINS: BuiltinTable = Object.freeze(Object.assign({}, ...TABLES));

/** The tables themselves, for the duplicate-name test. */
export const BUILTIN_TABLES: ReadonlyArray<BuiltinTable> = TABLES;
