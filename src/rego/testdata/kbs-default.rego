# A KBS resource policy written for coco-ts tests, shaped like Trustee's default one: allow
# only when the CPU submodule's EAR status is affirming or warning, and the executables and
# hardware claims are in the acceptable AR4SI ranges.
package policy

default allow = false

allow if {
	input["submods"]["cpu0"]["ear.status"] == "affirming"
}

allow if {
	input["submods"]["cpu0"]["ear.status"] == "warning"
	input["submods"]["cpu0"]["ear.trustworthiness-vector"]["executables"] < 32
	input["submods"]["cpu0"]["ear.trustworthiness-vector"]["hardware"] < 32
}
