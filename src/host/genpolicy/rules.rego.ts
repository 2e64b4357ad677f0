/**
 * coco-ts agent policy rules (Rego), the fixed half of a generated policy; the per-pod half is
 * `policy_data := {...}` appended by generate.ts. Written for this project with genpolicy's
 * structure and names (package agent_policy, one rule per request message, request_defaults
 * toggles, containers[] matched in order, JSON-patch ops on data.pstate), so that tools that read
 * genpolicy policies find what they expect. Differences from upstream, on purpose:
 *  - the guest-pull image storage must name exactly the digest-pinned image in the policy
 *    (upstream leaves `source` unchecked, runtime.md §2.8);
 *  - every policy container has at most one live instance (RemoveContainer frees it for a
 *    restart; upstream does not count containers);
 *  - annotations present in the policy must also be present in the request;
 *  - with `common.pin_resources` the CPU and memory limits must be the manifest's (upstream
 *    always lets the host choose them).
 * Placeholders are resolved with string functions; the one regex use is the Kubernetes service
 * env (policy_data's allow_env_regex, RE2 as genpolicy's), which no placeholder can express.
 */
export const RULES_REGO = `package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

# ---- requests allowed without further checks (as genpolicy) ----
default DestroySandboxRequest := true
default GetOOMEventRequest := true
default GuestDetailsRequest := true
default OnlineCPUMemRequest := true
default RemoveStaleVirtiofsShareMountsRequest := true
default SignalProcessRequest := true
default StartContainerRequest := true
default StatsContainerRequest := true
default TtyWinResizeRequest := true
default WaitProcessRequest := true

# ---- requests checked by rules or toggled by policy_data.request_defaults ----
default CreateContainerRequest := false
default CreateSandboxRequest := false
default CopyFileRequest := false
default ExecProcessRequest := false
default RemoveContainerRequest := false
default CloseStdinRequest := false
default ReadStreamRequest := false
default WriteStreamRequest := false
default UpdateEphemeralMountsRequest := false
default GetDiagnosticDataRequest := false

# ---- requests always denied ----
default AddARPNeighborsRequest := false
default AddSwapRequest := false
default AddSwapPathRequest := false
default GetIPTablesRequest := false
default GetMetricsRequest := false
default ListInterfacesRequest := false
default ListRoutesRequest := false
default MemAgentCompactConfig := false
default MemAgentMemcgConfig := false
default MemHotplugByProbeRequest := false
default PauseContainerRequest := false
default ResumeContainerRequest := false
default ReseedRandomDevRequest := false
default ResizeVolumeRequest := false
default SetGuestDateTimeRequest := false
default SetIPTablesRequest := false
default SetPolicyRequest := false
default UpdateContainerRequest := false
default UpdateInterfaceRequest := false
default UpdateRoutesRequest := false
default VolumeStatsRequest := false

default AllowRequestsFailingPolicy := false

CloseStdinRequest if policy_data.request_defaults.CloseStdinRequest == true
ReadStreamRequest if policy_data.request_defaults.ReadStreamRequest == true
WriteStreamRequest if policy_data.request_defaults.WriteStreamRequest == true
UpdateEphemeralMountsRequest if policy_data.request_defaults.UpdateEphemeralMountsRequest == true
GetDiagnosticDataRequest if policy_data.request_defaults.GetDiagnosticDataRequest == true

# ---- CreateSandboxRequest ----
CreateSandboxRequest if {
    input.guest_hook_path == ""
    count(input.kernel_modules) == 0
    input.sandbox_pidns == false
    every s in input.storages {
        some p in policy_data.sandbox.storages
        s == p
    }
}

# ---- CreateContainerRequest ----
CreateContainerRequest := {"ops": ops, "allowed": true} if {
    print("CreateContainerRequest: no policy container matches container", input.OCI.Annotations["io.kubernetes.cri.container-name"])
    allow_create_container_input
    not data.pstate[input.container_id]
    i_name := request_sandbox_name(input)
    allow_sandbox_name_state(i_name)
    some idx, p_container in policy_data.containers
    not container_used(idx)
    allow_container(p_container, input)
    ops := array.concat(
        sandbox_name_ops(i_name),
        [{"op": "add", "path": concat("/", ["/pstate", input.container_id]), "value": idx}],
    )
}

# A CRI container names its sandbox; a container with no pod around it (\`ctr run\`, a policy
# whose sandbox_name has shape "none") names none, and must carry no CRI annotation at all.
request_sandbox_name(i) := n if n := i.OCI.Annotations["io.kubernetes.cri.sandbox-name"]
request_sandbox_name(i) := "" if {
    policy_data.sandbox_name.shape == "none"
    not i.OCI.Annotations["io.kubernetes.cri.sandbox-name"]
}

# Every container of a sandbox carries the sandbox's name; the first one records it (genpolicy's
# pstate.sandbox_name).
allow_sandbox_name_state(name) if not data.pstate.sandbox_name
allow_sandbox_name_state(name) if data.pstate.sandbox_name == name

sandbox_name_ops(name) := [] if data.pstate.sandbox_name
sandbox_name_ops(name) := [{"op": "add", "path": "/pstate/sandbox_name", "value": name}] if {
    not data.pstate.sandbox_name
}

# A workload's pod template (policy_data.sandbox_name) admits any name its controller gives a
# replica: <prefix> then Deployment <pod-template-hash>-<5>, ReplicaSet/DaemonSet/Job <5>,
# indexed Job <index>-<5>, StatefulSet <ordinal>. Hashes and random suffixes use Kubernetes' safe
# alphabet (no vowels, no 0, 1, 3). So all replicas share one policy and one init-data digest.
allow_sandbox_name(v) if {
    sn := policy_data.sandbox_name
    count(v) <= 63
    startswith(v, sn.prefix)
    allow_name_rest(sn.shape, split(trim_prefix(v, sn.prefix), "-"))
}

allow_name_rest("exact", parts) if parts == [""]

allow_name_rest("random", parts) if {
    count(parts) == 1
    safe_chars(parts[0], 5, 5)
}

allow_name_rest("hash-random", parts) if {
    count(parts) == 2
    safe_chars(parts[0], 1, 10)
    safe_chars(parts[1], 5, 5)
}

allow_name_rest("index-random", parts) if {
    count(parts) == 2
    ordinal(parts[0])
    safe_chars(parts[1], 5, 5)
}

allow_name_rest("ordinal", parts) if {
    count(parts) == 1
    ordinal(parts[0])
}

safe_chars(s, lo, hi) if {
    count(s) >= lo
    count(s) <= hi
    trim(s, "bcdfghjklmnpqrstvwxz2456789") == ""
}

ordinal("0")
ordinal(s) if {
    count(s) >= 1
    count(s) <= 8
    trim(s, "0123456789") == ""
    not startswith(s, "0")
}

container_used(idx) if {
    some k, v in data.pstate
    v == idx
}

allow_create_container_input if {
    count(input.shared_mounts) == 0
    is_null(input.string_user)
    count(input.devices) == 0
    i_oci := input.OCI
    is_null(i_oci.Hooks)
    is_null(i_oci.Solaris)
    is_null(i_oci.Windows)
    i_linux := i_oci.Linux
    count(i_linux.UIDMappings) == 0
    count(i_linux.GIDMappings) == 0
    i_linux.MountLabel == ""
    count(i_linux.Devices) == 0
    i_linux.RootfsPropagation == ""
    allow_resources_input(i_linux.Resources)
    is_null(i_linux.Seccomp)
    is_null(i_linux.IntelRdt)
    count(i_linux.Sysctl) == 0
    i_oci.Process.SelinuxLabel == ""
    i_oci.Process.ApparmorProfile == ""
    i_oci.Process.User.Username == ""
}

# Resources: as upstream, no device cgroup rules and no Pids/BlockIO/Network (the Kata shim
# clears them); CPU and memory limits are the host's to choose unless the owner pinned them.
allow_resources_input(r) if is_null(r)
allow_resources_input(r) if {
    count(r.Devices) == 0
    is_null(r.BlockIO)
    is_null(r.Network)
    is_null(r.Pids)
}

pin_resources if policy_data.common.pin_resources == true

allow_resources(p, i) if not pin_resources
allow_resources(p, i) if {
    pin_resources
    resources_view(p) == resources_view(i)
}

resources_view(r) := null if is_null(r)
resources_view(r) := [r.Memory, r.CPU] if not is_null(r)

allow_container(p_container, i) if {
    p_oci := p_container.OCI
    i_oci := i.OCI
    i.sandbox_pidns == p_container.sandbox_pidns
    p_oci.Version == i_oci.Version
    p_oci.Root.Readonly == i_oci.Root.Readonly
    i_oci.Root.Path == subst(p_oci.Root.Path, i)
    allow_annotations(p_oci.Annotations, i_oci.Annotations)
    allow_process(p_oci.Process, i_oci.Process)
    allow_mounts(p_oci.Mounts, i_oci.Mounts, i)
    allow_storages(p_container, i)
    allow_linux(p_oci.Linux, i_oci.Linux)
}

# $(cpath), $(sfprefix), $(bundle-id) resolved for this request (the bundle id is the container id).
subst(s, i) := r if {
    a := replace(s, "$(cpath)", policy_data.common.cpath)
    b := replace(a, "$(sfprefix)", policy_data.common.sfprefix)
    r := replace(b, "$(bundle-id)", i.container_id)
}

allow_annotations(p_anno, i_anno) if {
    every k, v in i_anno {
        allow_annotation(p_anno, k, v)
    }
    every k, _ in p_anno {
        i_anno[k]
    }
}

allow_annotation(p_anno, k, v) if p_anno[k] == v
allow_annotation(p_anno, k, v) if {
    k == "io.kubernetes.cri.sandbox-name"
    p_anno[k] == "$(sandbox-name)"
    allow_sandbox_name(v)
}
allow_annotation(p_anno, k, v) if {
    p_anno[k] == "$(sandbox-id)"
    count(v) == 64
}

allow_process(p, i) if {
    p.Terminal == i.Terminal
    p.Args == i.Args
    p.Cwd == i.Cwd
    p.NoNewPrivileges == i.NoNewPrivileges
    p.User.UID == i.User.UID
    p.User.GID == i.User.GID
    {x | some x in p.User.AdditionalGids} == {x | some x in i.User.AdditionalGids}
    every e in i.Env {
        allow_env(p.Env, e)
    }
    allow_caps(p.Capabilities, i.Capabilities)
}

allow_env(p_env, e) if e in p_env
allow_env(p_env, e) if env_with_name(p_env, e, input.OCI.Annotations["io.kubernetes.cri.sandbox-name"])
allow_env(p_env, e) if {
    some r in policy_data.request_defaults.CreateContainerRequest.allow_env_prefix
    startswith(e, r)
}
allow_env(p_env, e) if host_service_env(p_env, e)

# A variable kubelet adds for a Service (KUBERNETES_SERVICE_HOST=10.0.0.1, ..._PORT_443_TCP=...):
# its whole line matches one of policy_data's allow_env_regex (RE2, anchored), and the owner's
# own env does not name it (a service variable never overrides one the owner set).
host_service_env(p_env, e) if {
    name := split(e, "=")[0]
    not env_named(p_env, name)
    some r in policy_data.request_defaults.CreateContainerRequest.allow_env_regex
    regex.match(r, e)
}

env_named(p_env, name) if {
    some pe in p_env
    startswith(pe, concat("", [name, "="]))
}

allow_caps(p, i) if {
    every k in ["Ambient", "Bounding", "Effective", "Inheritable", "Permitted"] {
        {x | some x in p[k]} == {x | some x in i[k]}
    }
}

# Every input mount maps to a distinct policy mount.
allow_mounts(p_mounts, i_mounts, i) if {
    count(p_mounts) == count(i_mounts)
    matched := {idx | some m in i_mounts; some idx, p in p_mounts; mount_matches(p, m, i)}
    count(matched) == count(i_mounts)
    every m in i_mounts {
        some p in p_mounts
        mount_matches(p, m, i)
    }
}

mount_matches(p, m, i) if {
    p.destination == m.destination
    p.type_ == m.type_
    p.options == m.options
    source_matches(p.source, m.source, i)
}

source_matches(p_src, i_src, i) if {
    not contains(p_src, "$(16hex)")
    subst(p_src, i) == i_src
}

# Files copied in by the host: <sfprefix><cid>-<16 hex>-<volume>
source_matches(p_src, i_src, i) if {
    parts := split(subst(p_src, i), "$(16hex)")
    count(parts) == 2
    startswith(i_src, parts[0])
    endswith(i_src, parts[1])
    count(i_src) == (count(parts[0]) + 16) + count(parts[1])
}

allow_storages(p_container, i) if {
    count(p_container.storages) == count(i.storages)
    every s in i.storages {
        some p in p_container.storages
        storage_matches(p, s, p_container, i)
    }
}

storage_matches(p, s, p_container, i) if {
    s.driver == "image_guest_pull"
    p.driver == "image_guest_pull"
    # The image is pinned by digest in the policy; the guest pull verifies the manifest digest.
    s.source == p_container.image
    s.fstype == "overlay"
    count(s.options) == 0
    is_null(s.fs_group)
    s.shared == false
    s.mount_point == subst(p.mount_point, i)
}

storage_matches(p, s, p_container, i) if {
    s.driver != "image_guest_pull"
    p.driver == s.driver
    p.source == s.source
    p.fstype == s.fstype
    p.options == s.options
    p.driver_options == s.driver_options
    p.shared == s.shared
    is_null(s.fs_group)
    subst(p.mount_point, i) == s.mount_point
}

allow_linux(p, i) if {
    allow_resources(p.Resources, i.Resources)
    {norm_ns(x.Type) | some x in p.Namespaces} == {norm_ns(x.Type) | some x in i.Namespaces}
    every x in i.Namespaces {
        x.Path == ""
    }
    every path in p.MaskedPaths {
        path in i.MaskedPaths
    }
    every path in p.ReadonlyPaths {
        allow_readonly_path(path, i)
    }
}

norm_ns("mnt") := "mount"
norm_ns(t) := t if t != "mnt"

allow_readonly_path(path, i) if path in i.ReadonlyPaths
allow_readonly_path(path, i) if path in i.MaskedPaths

# ---- RemoveContainerRequest: forget the container in the state ----
RemoveContainerRequest := {"ops": ops, "allowed": true} if {
    data.pstate[input.container_id]
    ops := [{"op": "remove", "path": concat("/", ["/pstate", input.container_id])}]
}

RemoveContainerRequest := {"ops": [], "allowed": true} if {
    not data.pstate[input.container_id]
}

# ---- ExecProcessRequest ----
ExecProcessRequest if {
    print("ExecProcessRequest: the policy allows no command", concat(" ", input.process.Args))
    is_null(input.string_user)
    input.process.SelinuxLabel == ""
    input.process.ApparmorProfile == ""
    allow_exec_command(input.process.Args)
    allow_exec_process(input.process)
}

# The exec'd process may not bring its own user, capabilities or environment: it runs as the
# container's user with at most its capabilities, with env entries only from the container's
# policy or Kubernetes' service variables (no LD_PRELOAD & co).
allow_exec_process(p) if {
    idx := data.pstate[input.container_id]
    pc := policy_data.containers[idx].OCI.Process
    allow_exec_user(p.User, pc.User)
    allow_exec_caps(p.Capabilities, pc.Capabilities)
    p.Terminal == false
    every e in p.Env {
        allow_exec_env(pc.Env, e)
    }
}

allow_exec_env(p_env, e) if e in p_env
allow_exec_env(p_env, e) if env_with_name(p_env, e, data.pstate.sandbox_name)
allow_exec_env(p_env, e) if host_service_env(p_env, e)

# None (the agent's default), or within the container's own sets: CRI execs with the container's
# process spec (kubectl exec), never with more than the container has.
allow_exec_caps(c, pc) if is_null(c)
allow_exec_caps(c, pc) if {
    every k in ["Ambient", "Bounding", "Effective", "Inheritable", "Permitted"] {
        every x in c[k] {
            x in pc[k]
        }
    }
}

# An env entry naming the sandbox (HOSTNAME=$(sandbox-name) in a workload's template).
env_with_name(p_env, e, name) if {
    some pe in p_env
    contains(pe, "$(sandbox-name)")
    replace(pe, "$(sandbox-name)", name) == e
}

allow_exec_user(u, pu) if is_null(u)
allow_exec_user(u, pu) if {
    u.UID == pu.UID
    u.GID == pu.GID
    every g in u.AdditionalGids {
        g in pu.AdditionalGids
    }
}

allow_exec_command(args) if args in policy_data.request_defaults.ExecProcessRequest.allowed_commands

allow_exec_command(args) if {
    idx := data.pstate[input.container_id]
    args in policy_data.containers[idx].exec_commands
}

# ---- CopyFileRequest: only into the shared folder, no .., symlinks only relative below top ----
CopyFileRequest if {
    allow_copy_path(input.path)
    input.file_type in ["Regular", "Directory"]
}

CopyFileRequest if {
    allow_copy_path(input.path)
    input.file_type == "Symlink"
    rel := trim_prefix(input.path, policy_data.common.sfprefix)
    count(split(rel, "/")) > 1
    not startswith(input.symlink_target, "/")
    not ".." in split(input.symlink_target, "/")
}

allow_copy_path(path) if {
    startswith(path, policy_data.common.sfprefix)
    not ".." in split(path, "/")
    some prefix in policy_data.request_defaults.CopyFileRequest
    startswith(path, replace(prefix, "$(sfprefix)", policy_data.common.sfprefix))
}
`;
