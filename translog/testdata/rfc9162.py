#!/usr/bin/env python3
"""An independent check of translog's proofs: RFC 9162's verification
algorithms (2.1.3.2 inclusion, 2.1.4.2 consistency), written from the RFC
text with hashlib alone. Reads JSON cases on stdin, one per line, and
prints "ok" or "fail" for each."""
import base64, hashlib, json, sys

def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()

def inclusion(index, size, leaf_hash, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root

def consistency(first, second, first_hash, second_hash, proof):
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0 or first > second or not proof:
        return False
    if first & (first - 1) == 0:  # a power of two: the old root starts the path
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_hash and sr == second_hash

b = lambda s: base64.b64decode(s)
for line in sys.stdin:
    c = json.loads(line)
    if c["kind"] == "inclusion":
        ok = inclusion(c["index"], c["size"], b(c["leaf"]), [b(p) for p in c["proof"]], b(c["root"]))
    else:
        ok = consistency(c["old"], c["size"], b(c["old_root"]), b(c["root"]), [b(p) for p in c["proof"]])
    print("ok" if ok else "fail")
