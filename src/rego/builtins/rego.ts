import { moduleToOpaJson } from "../ast/json.js";
import { RegoError } from "../errors.js";
import { parseModule } from "../parser/parser.js";
import { argString, builtinError } from "./args.js";
import type { BuiltinTable } from "./types.js";

/** Largest module `rego.parse_module` accepts (policies come from data and input). */
const MAX_MODULE_BYTES = 1 << 20;

/** `rego.*` builtins (the metadata ones are resolved by the compiler). */
export const regoBuiltins: BuiltinTable = {
  "rego.parse_module": {
    arity: 2,
    fn: (args) => {
      const file = argString("rego.parse_module", args, 0);
      const text = argString("rego.parse_module", args, 1);
      if (text.length > MAX_MODULE_BYTES)
        throw builtinError("rego.parse_module", "module too large");
      try {
        return moduleToOpaJson(parseModule(text, file));
      } catch (e) {
        if (e instanceof RegoError && e.code === "ERR_REGO_PARSE") {
          throw builtinError("rego.parse_module", `rego_parse_error: ${e.detail}`);
        }
        throw e;
      }
    },
  },
};
