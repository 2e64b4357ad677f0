export { SGX_BODY, type SgxBodyField, sgxField } from "./body.js";
