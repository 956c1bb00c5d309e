#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Writes the seed corpus of fuzz_trace_reader into tests/fuzz/corpus/.

A second, independent encoder of docs/trace-format.md: small valid binary
traces (one with a future longer record and an unknown record type), a cut
one, and JSON-lines scenarios covering every kind.  Run it again after a
format change; the output is deterministic.

libFuzzer adds the inputs it finds to the FIRST corpus directory it is
given, so run it with a scratch directory first to keep this one small:
    fuzz_trace_reader -max_total_time=60 /tmp/nq-corpus tests/fuzz/corpus
"""
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def event(ts, kind, payload=b"", vm=4242, tid=4243, vcpu=0, cpu=3, isa=1):
    hdr = struct.pack("<QIIIHBB", ts, vm, tid, vcpu, cpu, kind, isa)
    return hdr + payload.ljust(40, b"\0")


def record(body, rtype=1):
    return struct.pack("<HBB", len(body), rtype, 0) + body


def block(records):
    payload = b"".join(records)
    return struct.pack("<IIII", 0x314B4251, len(payload), len(records),
                       zlib.crc32(payload)) + payload


def trace(blocks, meta=b"kernel=6.12.0\nhost=h\nflow=6.12+\nisa=vmx\n"
          b"probe=kvm_apic_accept_irq\tattached\ttracepoint\n", created=1):
    head = struct.pack("<8sHHIQI", b"NESTIRQT", 1, 1, len(meta), created,
                       zlib.crc32(meta))
    head += struct.pack("<I", zlib.crc32(head))
    nrec = sum(n for _, n in blocks)
    end = struct.pack("<IIII", 0x31444E45, 0, nrec, len(blocks))
    return head + meta + b"".join(b for b, _ in blocks) + end


def one_block(records):
    return (block(records), len(records))


# One nested ext-intr delivery on the 6.12+ flow.
accept = event(1000, 1, struct.pack("<IHHB", 0, 0, 0, 0x31))
enter = event(1001, 2, struct.pack("<HBBBB", 0xFFFF, 2, 1, 0x7, 0))
peek = event(1002, 4, struct.pack("<iBB", 0x31, 2, 0))
ack = event(1003, 5, struct.pack("<iBBB", 0x31, 1, 1, 1))
inject = event(1004, 7, struct.pack("<QQQII", 1, 0, 0, 0x80000031, 0))
leave = event(1005, 3, struct.pack("<i", 0))
flow = [accept, enter, peek, ack, inject, leave]

files = {
    "bin_small": trace([one_block([record(e) for e in flow])]),
    "bin_two_blocks": trace([one_block([record(e) for e in flow[:3]]),
                             one_block([record(e) for e in flow[3:]])]),
    "bin_empty": trace([], meta=b""),
    "bin_future": trace([one_block([record(accept + b"\xee" * 16),
                                    record(b"\1\2\3", rtype=7),
                                    record(ack)])]),
    "bin_cut": trace([one_block([record(e) for e in flow])])[:-40],
}

jsonl_every_kind = b"""\
{"nestirq_trace":1,"kernel":"6.12.0","host":"h","flow":"6.12+","isa":"vmx","created_ns":1,"plan":["kvm_apic_accept_irq\\tattached\\ttracepoint"]}
# every kind once
{"ts":1,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"irq_accept","vector":49,"apicid":0,"dm":0,"tm":0}
{"ts":2,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"check_enter","vmcs":"02","guest_mode":1,"ctls":{"exit_on_intr":true,"ack_on_exit":true,"posted_intr":false},"posted_intr_nv":65535,"pi_pending":0}
{"ts":3,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"peek","vector":49,"vmcs":"02","in_ack":false}
{"ts":4,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"ack","vector":49,"vmcs":"01","api":"apic_ack","guest_mode":1}
{"ts":5,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"hw_nested_vmexit","reason":1,"intr_info":"0x800000ec","info1":"0x0","info2":"0x0","error_code":"0x0"}
{"ts":6,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"vmexit_inject","exit_code":1,"exit_int_info":"0x80000031","info1":"0x0","info2":"0x0","exit_int_info_err":"0x0"}
{"ts":7,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"check_exit","ret":0}
{"ts":8,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"svi_update","max_isr":-1,"vmcs":"01","outcome":"deferred","origin":"l1_isr","guest_mode":0}
{"ts":9,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"vmcs_switch","to":"01","guest_mode":0}
{"ts":10,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"vmx","kind":"nested_pi","posted_intr_nv":242,"pi_enabled":1,"pi_pending":1}
{"ts":11,"cpu":3,"vm":4242,"tid":4243,"vcpu":0,"isa":"svm","kind":"svm_intr_exit","rip":"0xffffffff81000000"}
{"ts":12,"cpu":3,"vm":4242,"tid":4243,"kind":"lost","count":7}
{"ts":13,"kind":200,"raw":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"}
"""

jsonl_handwritten = b"""\
# a hand-written scenario: defaults, hex strings, comments, CRLF

{"ts": 100, "vm": 1, "vcpu": 2, "kind": "irq_accept", "vector": "0x31"}\r
  # indented comment
{"ts": 101, "vm": 1, "vcpu": null, "kind": "check_enter", "ctls": {"ack_on_exit": true}}
{"ts": 102, "vm": 1, "kind": "peek", "vector": -1, "in_ack": true}
{"ts": 18446744073709551615, "kind": "lost", "count": 1}"""

jsonl_bad = b"""\
{"ts":1,"kind":"ack","vector":49}
{"ts":2,"kind":"akc","vector":"\\u00e9\\ud83d\\ude00"}
"""

files["jsonl_every_kind"] = jsonl_every_kind
files["jsonl_handwritten"] = jsonl_handwritten
files["jsonl_bad"] = jsonl_bad

os.makedirs(OUT, exist_ok=True)
for name, data in sorted(files.items()):
    ext = "jsonl" if name.startswith("jsonl") else "nqt"
    with open(os.path.join(OUT, f"{name}.{ext}"), "wb") as f:
        f.write(data)
