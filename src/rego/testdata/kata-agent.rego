# An agent policy written for coco-ts tests and benchmarks, in the style of Kata's genpolicy
# rules.rego (v0-compatible syntax with future keywords, multi-body functions, else chains,
# print tracing, pstate updates as JSON-patch ops). policy_data comes from data.policy_data.
package agent_policy

import future.keywords.every
import future.keywords.if
import future.keywords.in

default CreateContainerRequest := {"allowed": false}

default ExecProcessRequest := false

default CopyFileRequest := false

default ReadStreamRequest := true

default AllowRequestsFailingPolicy := false

policy_data := data.policy_data

CreateContainerRequest := {"ops": ops, "allowed": true} if {
	i_oci := input.OCI
	i_storages := input.storages

	some p_container in policy_data.containers
	print("CreateContainerRequest: trying container", p_container.name)

	p_oci := p_container.OCI
	p_oci.Version == i_oci.Version
	p_oci.Root.Readonly == i_oci.Root.Readonly

	allow_anno(p_oci, i_oci)
	allow_by_anno(p_container, i_oci, i_storages)
	allow_linux(p_oci, i_oci)

	print("CreateContainerRequest: true")
	ops := [{"op": "add", "path": "/pstate/containers", "value": array.concat(current_containers, [i_oci.Annotations["io.kubernetes.cri.container-name"]])}]
}

current_containers := data.pstate.containers if data.pstate.containers
else := []

allow_anno(p_oci, i_oci) if {
	print("allow_anno 1: start")
	not p_oci.Annotations
	not i_oci.Annotations
}

allow_anno(p_oci, i_oci) if {
	print("allow_anno 2: start")
	p_oci.Annotations
	every i_key, i_value in i_oci.Annotations {
		allow_anno_key_value(i_key, i_value, p_oci)
	}
}

allow_anno_key_value(i_key, i_value, p_oci) if {
	some p_key, p_value in p_oci.Annotations
	i_key == p_key
	allow_anno_value(p_key, p_value, i_value)
}

allow_anno_key_value(i_key, _, _) if {
	some prefix in policy_data.common.ignored_annotation_prefixes
	startswith(i_key, prefix)
}

allow_anno_value(_, p_value, i_value) if p_value == i_value

allow_anno_value(p_key, _, i_value) if {
	p_key == "io.kubernetes.cri.sandbox-name"
	i_value == data.pstate.sandbox_name
}

allow_anno_value(p_key, p_value, i_value) if {
	p_key == "io.kubernetes.cri.container-name"
	endswith(p_value, "*")
	startswith(i_value, trim_suffix(p_value, "*"))
}

allow_by_anno(p_container, i_oci, i_storages) if {
	not i_oci.Annotations["io.katacontainers.config.agent.policy"]
	allow_by_bundle_or_sandbox_id(p_container, i_oci, i_storages)
}

allow_by_bundle_or_sandbox_id(p_container, i_oci, i_storages) if {
	p_oci := p_container.OCI
	allow_process(p_oci.Process, i_oci.Process)
	allow_mounts(p_container, i_oci, i_storages)
}

allow_process(p_process, i_process) if {
	print("allow_process: start")
	p_process.Terminal == i_process.Terminal
	p_process.Cwd == i_process.Cwd
	p_process.NoNewPrivileges == i_process.NoNewPrivileges
	allow_user(p_process.User, i_process.User)
	allow_args(p_process.Args, i_process.Args)
	allow_env(p_process.Env, i_process.Env)
	allow_caps(p_process.Capabilities, i_process.Capabilities)
}

allow_user(p_user, i_user) if {
	p_user.UID == i_user.UID
	p_user.GID == i_user.GID
	every gid in i_user.AdditionalGids {
		gid in p_user.AdditionalGids
	}
}

allow_args(p_args, i_args) if {
	count(p_args) == count(i_args)
	every i, i_arg in i_args {
		allow_arg(p_args[i], i_arg)
	}
}

allow_arg(p_arg, i_arg) if p_arg == i_arg

allow_arg(p_arg, i_arg) if {
	contains(p_arg, "$(sandbox-name)")
	replace(p_arg, "$(sandbox-name)", data.pstate.sandbox_name) == i_arg
}

allow_env(p_env, i_env) if {
	every i_var in i_env {
		allow_var(p_env, i_var)
	}
}

allow_var(p_env, i_var) if i_var in p_env

allow_var(_, i_var) if {
	name_value := split(i_var, "=")
	count(name_value) >= 2
	some prefix in policy_data.common.allowed_env_prefixes
	startswith(name_value[0], prefix)
}

allow_caps(p_caps, i_caps) if {
	every kind in ["Bounding", "Effective", "Permitted"] {
		caps_subset(i_caps[kind], {strip_cap_prefix(c) | some c in p_caps[kind]})
	}
}

caps_subset(i_caps, p_set) if {
	every c in i_caps {
		strip_cap_prefix(c) in p_set
	}
}

strip_cap_prefix(c) := substring(c, 4, -1) if startswith(c, "CAP_")
else := c

allow_mounts(p_container, i_oci, i_storages) if {
	p_mounts := p_container.OCI.Mounts
	every i_mount in i_oci.Mounts {
		some p_mount in p_mounts
		allow_mount(p_mount, i_mount)
	}
	count(i_storages) <= count(p_container.storages)
}

allow_mount(p_mount, i_mount) if {
	p_mount.destination == i_mount.destination
	p_mount.type_ == i_mount.type_
	allow_mount_source(p_mount.source, i_mount.source)
	{o | some o in i_mount.options} == {o | some o in p_mount.options}
}

allow_mount_source(p_source, i_source) if p_source == i_source

allow_mount_source(p_source, i_source) if {
	endswith(p_source, "$(bundle-id)")
	prefix := trim_suffix(p_source, "$(bundle-id)")
	startswith(i_source, prefix)
	count(i_source) - count(prefix) == 64
}

allow_linux(p_oci, i_oci) if {
	p_oci.Linux.Namespaces == i_oci.Linux.Namespaces
	every path in p_oci.Linux.MaskedPaths {
		path in i_oci.Linux.MaskedPaths
	}
	not i_oci.Linux.Devices
}

ExecProcessRequest if {
	print("ExecProcessRequest: commands", policy_data.request_defaults.ExecProcessRequest.allowed_commands)
	i_command := concat(" ", input.process.Args)
	some p_command in policy_data.request_defaults.ExecProcessRequest.allowed_commands
	p_command == i_command
}

CopyFileRequest if {
	print("CopyFileRequest: path", input.path)
	not contains(input.path, "..")
	some prefix in policy_data.request_defaults.CopyFileRequest
	startswith(input.path, prefix)
}
