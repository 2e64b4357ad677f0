/**
 * Built-in policies, written for coco-ts with the semantics of upstream's shipped ones
 * (trustee attestation-service/src/ear_token/ear_default_policy_*.rego and
 * kbs/sample_policies/*.rego). Reference-value names are the strings upstream's policies pass
 * to `query_reference_value`, so reference values registered for upstream work here.
 */

/** Attestation policy `default_cpu`: sets the eight EAR trust claims per platform. */
export const DEFAULT_CPU_POLICY = `package policy

import rego.v1

# Without a recognised platform the appraisal stays pessimistic:
# executables 33 = unrecognised runtime, hardware 97 = unrecognised hardware,
# configuration 36 = configuration unavailable. Every other claim makes no assertion (0).
default executables := 33
default hardware := 97
default configuration := 36
default file_system := 0
default instance_identity := 0
default runtime_opaque := 0
default storage_opaque := 0
default sourced_data := 0

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": file_system,
	"instance-identity": instance_identity,
	"runtime-opaque": runtime_opaque,
	"storage-opaque": storage_opaque,
	"sourced-data": sourced_data,
}

# sample: a software-only stand-in, upgraded only against registered reference values.
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

# snp (claims as the snp verifier emits them: flat numbers and booleans).
executables := 3 if {
	input.snp
	input.snp.measurement in query_reference_value("snp_launch_measurement")
}

hardware := 2 if {
	input.snp
	input.snp.reported_tcb_bootloader in query_reference_value("snp_bootloader")
	input.snp.reported_tcb_microcode in query_reference_value("snp_microcode")
	input.snp.reported_tcb_snp in query_reference_value("snp_snp_svn")
	input.snp.reported_tcb_tee in query_reference_value("snp_tee_svn")
}

configuration := 2 if {
	input.snp
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
	input.snp.platform_smt_enabled == query_reference_value("snp_smt_enabled")
	input.snp.platform_tsme_enabled == query_reference_value("snp_tsme_enabled")
	input.snp.policy_abi_major == query_reference_value("snp_guest_abi_major")
	input.snp.policy_abi_minor == query_reference_value("snp_guest_abi_minor")
	input.snp.policy_single_socket == query_reference_value("snp_single_socket")
	input.snp.policy_smt_allowed == query_reference_value("snp_smt_allowed")
} else := 3 if {
	input.snp
	input.snp.policy_debug_allowed == false
	input.snp.policy_migrate_ma == false
}

# tdx
executables := 3 if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
	tdx_kernel_ok
	tdx_kernel_params_ok
} else := 4 if {
	input.tdx
	input.tdx.quote.body.rtmr_1 in query_reference_value("rtmr_1")
	input.tdx.quote.body.rtmr_2 in query_reference_value("rtmr_2")
}

hardware := 2 if {
	input.tdx
	input.tdx.quote.header.tee_type == "81000000"
	input.tdx.quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input.tdx.quote.body.mr_td in query_reference_value("mr_td")
	input.tdx.tcb_status == "UpToDate"
	input.tdx.collateral_expiration_status == "0"
}

configuration := 2 if {
	input.tdx
	input.tdx.td_attributes.debug == false
	input.tdx.quote.body.xfam in query_reference_value("xfam")
}

tdx_kernel_ok if {
	some event in input.tdx.uefi_event_logs
	event.type_name == "EV_EFI_BOOT_SERVICES_APPLICATION"
	"File(kernel)" in event.details.device_paths
	some d in event.digests
	d.digest == query_reference_value("tdvfkernel")
}

tdx_kernel_params_ok if {
	some event in input.tdx.uefi_event_logs
	event.type_name == "EV_EVENT_TAG"
	event.details.string == "LOADED_IMAGE::LoadOptions"
	some d in event.digests
	d.digest == query_reference_value("tdvfkernelparams")
}

# az-snp-vtpm (claim values are strings)
executables := 3 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].measurement in query_reference_value("measurement")
	input["az-snp-vtpm"].tpm.pcr11 in query_reference_value("snp_pcr11")
}

hardware := 2 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].reported_tcb_bootloader in query_reference_value("tcb_bootloader")
	input["az-snp-vtpm"].reported_tcb_microcode in query_reference_value("tcb_microcode")
	input["az-snp-vtpm"].reported_tcb_snp in query_reference_value("tcb_snp")
	input["az-snp-vtpm"].reported_tcb_tee in query_reference_value("tcb_tee")
}

configuration := 2 if {
	input["az-snp-vtpm"]
	input["az-snp-vtpm"].platform_smt_enabled in query_reference_value("smt_enabled")
	input["az-snp-vtpm"].platform_tsme_enabled in query_reference_value("tsme_enabled")
	input["az-snp-vtpm"].policy_abi_major in query_reference_value("abi_major")
	input["az-snp-vtpm"].policy_abi_minor in query_reference_value("abi_minor")
	input["az-snp-vtpm"].policy_single_socket in query_reference_value("single_socket")
	input["az-snp-vtpm"].policy_smt_allowed in query_reference_value("smt_allowed")
}

# az-tdx-vtpm
executables := 3 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].tpm.pcr11 in query_reference_value("tdx_pcr11")
}

hardware := 2 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].quote.header.tee_type == "81000000"
	input["az-tdx-vtpm"].quote.header.vendor_id == "939a7233f79c4ca9940a0db3957f0607"
	input["az-tdx-vtpm"].quote.body.mr_td in query_reference_value("mr_td")
	input["az-tdx-vtpm"].tcb_status == "UpToDate"
}

configuration := 2 if {
	input["az-tdx-vtpm"]
	input["az-tdx-vtpm"].quote.body.xfam in query_reference_value("xfam")
}

# tpm: the AK is trusted through reference values.
hardware := 2 if {
	input.tpm
}

executables := 3 if {
	input.tpm
	input.tpm.pcr11 in query_reference_value("tpm_pcr11")
	input.tpm.ak_public in query_reference_value("trusted_aks")
}

configuration := 0 if {
	input.tpm
}

# se: the verifier checks everything; its claims existing is the verdict.
executables := 3 if {
	input.se
}

hardware := 2 if {
	input.se
}

configuration := 2 if {
	input.se
}

# The identifiers extension: workload identity bootstrapped from the Kata agent policy in
# init-data (container images and UIDs).
extensions := [{
	"name": "ear.trustee.identifiers",
	"key": -18,
	"value": {"validated": validated_identifiers},
}]

validated_identifiers[k] := v if {
	some k, v in container_images_id
}

validated_identifiers[k] := v if {
	some k, v in container_uids_id
}

container_images := [img |
	some c in input.init_data_claims.agent_policy_claims.containers
	img := c.OCI.Annotations["io.kubernetes.cri.image-name"]
]

container_images_id := {"container_images": container_images} if {
	count(container_images) > 0
} else := {}

container_uids := [uid |
	some c in input.init_data_claims.agent_policy_claims.containers
	uid := c.OCI.Process.User.UID
]

container_uids_id := {"container_uids": container_uids} if {
	count(container_uids) > 0
} else := {}
`;

/**
 * Attestation policy `default_gpu`: upstream's rules for GPUs verified by NVIDIA's NRAS claims
 * and for `sampledevice`, plus rules for the claims of the local NVIDIA verifier (which only
 * returns claims after the chain to NVIDIA's root, the FWID binding, the signature and the nonce
 * checked): hardware 2; executables 3 when every measurement is among the reference values
 * `nvidia_gpu_measurements` (an object index → list of hex values); configuration 2 when the
 * VBIOS and driver versions are in `allowed_vbios_versions` / `allowed_driver_versions`.
 */
export const DEFAULT_GPU_POLICY = `package policy

import rego.v1

default executables := 33
default hardware := 97
default configuration := 36

trust_claims := {
	"executables": executables,
	"hardware": hardware,
	"configuration": configuration,
	"file-system": 0,
	"instance-identity": 0,
	"runtime-opaque": 0,
	"storage-opaque": 0,
	"sourced-data": 0,
}

hardware := 2 if {
	input.sampledevice
	input.sampledevice.svn in query_reference_value("device_svn")
}

# GPUs verified by NRAS (upstream's claims).
hardware := 2 if {
	input.nvidia
	input.nvidia["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	input.nvidia["x-nvidia-gpu-attestation-report-cert-chain"]["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-gpu-attestation-report-cert-chain-fwid-match"]
	input.nvidia["x-nvidia-gpu-attestation-report-parsed"]
	input.nvidia["x-nvidia-gpu-attestation-report-signature-verified"]
	input.nvidia["x-nvidia-gpu-arch-check"]
}

configuration := 2 if {
	input.nvidia.secboot
	input.nvidia.dbgstat == "disabled"
	input.nvidia["x-nvidia-gpu-vbios-version"] in query_reference_value("allowed_vbios_versions")
	input.nvidia["x-nvidia-gpu-driver-version"] in query_reference_value("allowed_driver_versions")
} else := 3 if {
	input.nvidia.secboot
	input.nvidia.dbgstat == "disabled"
}

executables := 3 if {
	input.nvidia["x-nvidia-gpu-vbios-rim-cert-chain"]["x-nvidia-cert-ocsp-status"] == "good"
	input.nvidia["x-nvidia-gpu-vbios-rim-cert-chain"]["x-nvidia-cert-status"] == "valid"
	input.nvidia["x-nvidia-gpu-driver-rim-fetched"]
	input.nvidia["x-nvidia-gpu-driver-rim-measurements-available"]
	input.nvidia["x-nvidia-gpu-driver-rim-schema-validated"]
	input.nvidia["x-nvidia-gpu-driver-rim-signature-verified"]
	input.nvidia["x-nvidia-gpu-driver-rim-version-match"]
	input.nvidia["x-nvidia-gpu-vbios-rim-fetched"]
	input.nvidia["x-nvidia-gpu-vbios-rim-measurements-available"]
	input.nvidia["x-nvidia-gpu-vbios-rim-schema-validated"]
	input.nvidia["x-nvidia-gpu-vbios-rim-signature-verified"]
	input.nvidia["x-nvidia-gpu-vbios-rim-version-match"]
	input.nvidia.measres == "success"
}

# GPUs verified locally (claims: arch, uuid, measurements, config).
hardware := 2 if {
	input.nvidia.arch == "Hopper"
	input.nvidia.config.fwid
}

executables := 3 if {
	input.nvidia.config.fwid
	rv := query_reference_value("nvidia_gpu_measurements")
	count(input.nvidia.measurements) > 0
	every i, m in input.nvidia.measurements {
		m in rv[i]
	}
}

configuration := 2 if {
	input.nvidia.config.fwid
	input.nvidia.config.vbios_version in query_reference_value("allowed_vbios_versions")
	input.nvidia.config.driver_version in query_reference_value("allowed_driver_versions")
}
`;

/** Resource policy `default`: any real TEE may read resources; sample tokens are refused. */
export const RESOURCE_POLICY_DEFAULT = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	not input.submods.cpu0["ear.veraison.annotated-evidence"].sample
}
`;

/** Resource policy `allow_all` (upstream: allows the resource plugin for every token). */
export const RESOURCE_POLICY_ALLOW_ALL = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
}
`;

/** Resource policy `deny_all`. */
export const RESOURCE_POLICY_DENY_ALL = `package policy

import rego.v1

default allow := false
`;

/** Resource policy `affirming`: every submod of the token must be affirming. */
export const RESOURCE_POLICY_AFFIRMING = `package policy

import rego.v1

default allow := false

allow if {
	count(input.submods) > 0
	every _, sub in input.submods {
		sub["ear.status"] == "affirming"
	}
}
`;

/**
 * Resource policy `affirming_gpu`: the CPU and at least one GPU attested, every one of them
 * affirming (composite evidence: a confidential VM with its GPUs).
 */
export const RESOURCE_POLICY_AFFIRMING_GPU = `package policy

import rego.v1

default allow := false

allow if {
	data.plugin == "resource"
	input.submods.cpu0["ear.status"] == "affirming"
	gpus := [s | some name, s in input.submods; startswith(name, "gpu")]
	count(gpus) > 0
	every g in gpus {
		g["ear.status"] == "affirming"
	}
}
`;
