# A CPU appraisal policy written for coco-ts tests, shaped like Trustee's default EAR CPU
# policy: AR4SI trust-vector defaults, one guarded definition per TEE for each claim, else
# chains, reference values from the host function query_reference_value, and extensions.
package policy

import rego.v1

default executables := 33

default hardware := 97

default configuration := 36

default file_system := 0

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": file_system,
}

# --- sample TEE
executables := 3 if {
	input.sample
	input.sample.launch_digest in query_reference_value("launch_digest")
}

hardware := 2 if {
	input.sample
	input.sample.svn in query_reference_value("svn")
	input.sample.platform_version.major == query_reference_value("major_version")
	input.sample.platform_version.minor >= query_reference_value("minimum_minor_version")
}

configuration := 2 if {
	input.sample
	input.sample.debug == false
}

# --- SNP
executables := 3 if {
	input.snp
	input.snp.evidence.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
	input.snp
	input.snp.evidence.reported_tcb.bootloader in query_reference_value("snp_bootloader")
	input.snp.evidence.reported_tcb.microcode in query_reference_value("snp_microcode")
}

configuration := 2 if {
	input.snp
	input.snp.evidence.policy.debug_allowed == false
	input.snp.evidence.plat_info.smt_enabled == query_reference_value("snp_smt_enabled")
}

else := 3 if {
	input.snp
	input.snp.evidence.policy.debug_allowed == false
}

# --- TDX
executables := 3 if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	kernel_event_ok
}

else := 4 if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
}

hardware := 2 if {
	input.tdx
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.tcb_status == "UpToDate"
}

kernel_event_ok if {
	event := input.tdx.uefi_event_logs[_]
	event.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION"
	"File(kernel)" in event.details.device_paths
	digest := event.digests[_]
	digest.digest == query_reference_value("tdvfkernel")
}

# --- extensions built from the init-data claims
extensions := [{
	"name": "ear.trustee.identifiers",
	"key": -18,
	"value": {"validated": validated_identifiers},
}]

validated_identifiers := object.union_n([container_images_id, container_uids_id])

container_images := [img |
	container := input.init_data_claims.agent_policy_claims.containers[_]
	img := container.OCI.Annotations["io.kubernetes.cri.image-name"]
]

container_images_id := {"container_images": container_images} if {
	count(container_images) > 0
} else := {}

container_uids := [uid |
	container := input.init_data_claims.agent_policy_claims.containers[_]
	uid := container.OCI.Process.User.UID
]

container_uids_id := {"container_uids": container_uids} if {
	count(container_uids) > 0
} else := {}
