import { stringify as toToml } from "smol-toml";

/** Options for the guest components' configs carried in init-data. */
export interface GuestConfigOptions {
  /** Trustee (KBS) URL the AA attests to and CDH fetches from. */
  trustee: string;
  /** Registries the guest reaches over plain HTTP (loopback registries in tests and demos). */
  insecureRegistries?: string[];
  /** containers-policy.json (image signature policy) location, e.g. `kbs:///default/security-policy/test`. */
  imagePolicyUri?: string;
}

/**
 * aa.toml and cdh.toml (upstream layouts) pointing the guest components at one Trustee. They
 * travel in init-data, so they are measured with the policy: a host cannot redirect the guest
 * to another Trustee without changing the digest.
 */
export function guestConfigs(o: GuestConfigOptions): Record<string, string> {
  const image: Record<string, unknown> = {};
  if (o.imagePolicyUri) image.image_security_policy_uri = o.imagePolicyUri;
  if (o.insecureRegistries && o.insecureRegistries.length > 0) {
    image.registry_config = {
      registry: o.insecureRegistries.map((location) => ({ location, insecure: true })),
    };
  }
  const cdh: Record<string, unknown> = {
    socket: "unix:///run/confidential-containers/cdh.sock",
    kbc: { name: "cc_kbc", url: o.trustee },
  };
  if (Object.keys(image).length > 0) cdh.image = image;
  return {
    "aa.toml": toToml({ token_configs: { kbs: { url: o.trustee } } }),
    "cdh.toml": toToml(cdh),
  };
}
