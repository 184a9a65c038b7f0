#!/usr/bin/env node
// gen.mjs - random test cases for nitrowallet with the results ethers v6
// computes for them (an independent implementation: nothing here is shared
// with the C library).
//
//   node tests/oracle/gen.mjs --seed S --count N  > cases.jsonl
//
// Each stdout line is one JSON object:
//   {"kind": "tx"|"personal"|"typed"|"keccak"|"digest",
//    "key": "0x<32 bytes>"            (a random TEST key; absent for keccak),
//    "address": "0x<EIP-55>"          (ethers' address of that key),
//    "input": {...} | "input_json": "<exact JSON text nitrowallet parses>",
//    "expect": {...}}
// Expected fields by kind (hex strings unless noted):
//   tx        type (number), raw, hash, signing_hash, r, s, yParity (number),
//             v (decimal string), from
//   personal  hash (ethers.hashMessage), signature (65 bytes, v 27/28);
//             input {"text": ...} (its UTF-8 bytes) or {"hex": "0x..."}
//   typed     domain_separator, struct_hash, digest, signature, and
//             encode_type (ethers' encodeType, only to help diagnosis)
//   keccak    hash; input {"hex": ...}
//   digest    r, s, yParity; input {"digest": ...}
// Transactions are encoded from ethers' RLP/keccak/secp256k1 primitives and
// must equal ethers.Transaction's own result wherever ethers takes the
// values (it refuses nonces above 2^53, which nitrowallet accepts up to
// 2^64 - 2).
// The same seed always gives the same lines (the PRNG is sfc32 seeded from
// the seed text), so a failure is reproduced with the seed alone.  A final
// stderr line gives the count of each kind.  Runs on Node 18 and later.
//
// As a module it exports seedRandom(text) and the generators (genTyped,
// randText, randBytes, ...), which other oracles use with their own seed
// (tests/oracle/devnode_sign.mjs drives the host API with them).

import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ethers } from "ethers";

// --- arguments (only when run as a program; see main() at the end) ---------

function usage(msg) {
    if (msg) process.stderr.write(`gen.mjs: ${msg}\n`);
    process.stderr.write("usage: node gen.mjs [--seed S] [--count N] [--kinds tx,personal,typed,keccak,digest]\n");
    process.exit(2);
}

function parseArgs(argv) {
    const opts = { seedText: null, count: 3000, kindsArg: null };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => {
            if (i + 1 >= argv.length) usage(`${a} needs a value`);
            return argv[++i];
        };
        if (a === "--seed") opts.seedText = next();
        else if (a === "--count") {
            const v = next();
            if (!/^[0-9]+$/.test(v)) usage(`bad --count ${JSON.stringify(v)}`);
            opts.count = parseInt(v, 10);
        } else if (a === "--kinds") opts.kindsArg = next();
        else if (a === "-h" || a === "--help") usage();
        else usage(`unknown argument ${JSON.stringify(a)}`);
    }
    if (opts.seedText === null) {
        opts.seedText = String(Math.floor(Math.random() * 2 ** 32));
        process.stderr.write(`gen.mjs: no --seed given, using --seed ${opts.seedText}\n`);
    }
    return opts;
}

// Generator self-checks (ethers against itself) on every 4th case of a kind.
const selfCheckCounts = {};
function selfCheck(kind) {
    selfCheckCounts[kind] = (selfCheckCounts[kind] || 0) + 1;
    return selfCheckCounts[kind] % 4 === 1;
}

// --- seeded PRNG: sfc32, state from a 32-bit FNV-1a/splitmix mix of the seed --

function makeRng(text) {
    let h = 0x811c9dc5;
    for (const b of Buffer.from(text, "utf8")) {
        h ^= b;
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    let sm = h;
    const splitmix32 = () => {
        sm = (sm + 0x9e3779b9) >>> 0;
        let z = sm;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
    };
    let a = splitmix32(), b = splitmix32(), c = splitmix32(), d = 1;
    const next = () => {
        a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
        const t = (a + b + d) >>> 0;
        d = (d + 1) >>> 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) >>> 0;
        c = ((c << 21) | (c >>> 11)) >>> 0;
        c = (c + t) >>> 0;
        return t >>> 0;
    };
    for (let i = 0; i < 16; i++) next();
    return next;
}

// The generators below draw from one module-wide PRNG; seedRandom() must be
// called before any of them (main() does it from --seed).
let seedText = null;
let u32 = () => { throw new Error("gen.mjs: seedRandom() was not called"); };
export function seedRandom(text) {
    seedText = String(text);
    u32 = makeRng(seedText);
    for (const k of Object.keys(selfCheckCounts)) delete selfCheckCounts[k];
}
const rint = (lo, hi) => lo + Math.floor((u32() / 4294967296) * (hi - lo + 1)); // inclusive
const chance = (p) => u32() / 4294967296 < p;
const pick = (arr) => arr[rint(0, arr.length - 1)];
function weighted(table) { // [[weight, value], ...]
    let total = 0;
    for (const [w] of table) total += w;
    let x = (u32() / 4294967296) * total;
    for (const [w, v] of table) {
        if (x < w) return v;
        x -= w;
    }
    return table[table.length - 1][1];
}
function randBytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
        const w = u32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (w >>> (8 * j)) & 0xff;
    }
    return out;
}
// Uniform in [0, 2^bits).
function randBits(bits) {
    let x = 0n;
    for (let i = 0; i < bits; i += 32) x = (x << 32n) | BigInt(u32());
    return x & ((1n << BigInt(bits)) - 1n);
}
// Exactly `bits` significant bits (bits >= 1).
function randExactBits(bits) {
    return (1n << BigInt(bits - 1)) | randBits(bits - 1);
}
function shuffle(arr) {
    for (let i = arr.length - 1; i > 0; i--) {
        const j = rint(0, i);
        [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
}

const MAX_U256 = (1n << 256n) - 1n;
const MAX_U64 = (1n << 64n) - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_CHAIN_ID = 9223372036854775771n; // EIP-2294 bound nitrowallet uses
const MAX_NONCE = (1n << 64n) - 2n;         // EIP-2681: nonce < 2^64 - 1
const NW_TX_MAX_DATA = 128 * 1024;          // include/nitrowallet/tx.h
const NW_MESSAGE_MAX = 64 * 1024;           // include/nitrowallet/message.h
const N = ethers.N; // secp256k1 group order

const hex = (bytes) => ethers.hexlify(bytes);
const upperHex = (h) => "0x" + h.slice(2).toUpperCase();

// --- renderings of values as nitrowallet's JSON input accepts them ------------

// Non-negative quantity: "0x" QUANTITY (no leading zeros), decimal string, or
// a JSON number when below 2^53.  Returned as a JS value for JSON.stringify.
function renderQuantity(v, opts = {}) {
    const forms = ["hex", "dec"];
    if (v <= MAX_SAFE) forms.push("num");
    const f = pick(forms);
    if (f === "num") return Number(v);
    if (f === "dec") return v.toString(10);
    let h = v.toString(16);
    if (opts.upper && chance(0.2)) h = h.toUpperCase();
    if (opts.leadingZeros && chance(0.25)) h = "0".repeat(rint(1, 64 - Math.min(h.length, 63))) + h;
    return "0x" + h;
}

// EIP-712 integer value (signed or not).
function renderInt712(v) {
    if (v < 0n) {
        if (v >= -MAX_SAFE && chance(0.4)) return Number(v);
        return v.toString(10);
    }
    return renderQuantity(v, { upper: true, leadingZeros: true });
}

function renderAddress(addrLower) {
    return weighted([
        [4, addrLower],
        [4, ethers.getAddress(addrLower)],
        [2, upperHex(addrLower)],
    ]);
}

function renderData(h) {
    return chance(0.2) ? upperHex(h) : h;
}

function randAddress() {
    return weighted([
        [20, () => hex(randBytes(20))],
        [1, () => "0x" + "00".repeat(20)],
        [1, () => "0x" + "ff".repeat(20)],
        // few letters or digits only: checksum edge cases
        [1, () => "0x" + Array.from({ length: 40 }, () => pick("0123456789")).join("")],
        [1, () => "0x" + Array.from({ length: 40 }, () => pick("abcdef")).join("")],
    ])();
}

function randKey() {
    for (;;) {
        const k = weighted([
            [30, () => randBytes(32)],
            [1, () => { const b = new Uint8Array(32); b[31] = rint(1, 255); return b; }], // tiny
            [1, () => ethers.getBytes(ethers.toBeHex(N - BigInt(rint(1, 1000)), 32))],   // near n
        ])();
        const x = BigInt(hex(k));
        if (x !== 0n && x < N) return hex(k);
    }
}

// --- random text -----------------------------------------------------------------

function randCodePoint() {
    return weighted([
        [55, () => rint(0x20, 0x7e)],
        [4, () => pick([0x0a, 0x09, 0x0d, 0x22, 0x5c, 0x2f, 0x7f, 0x01, 0x1f, 0x08, 0x0c])],
        [10, () => rint(0x80, 0x7ff)],
        [12, () => { for (;;) { const c = rint(0x800, 0xffff); if (c < 0xd800 || c > 0xdfff) return c; } }],
        [3, () => pick([0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x200d])],
        [8, () => rint(0x1f300, 0x1faff)], // emoji planes
        [4, () => rint(0x10000, 0x10ffff)],
    ])();
}
function randText(maxLen) {
    const len = rint(0, maxLen);
    let s = "";
    for (let i = 0; i < len; i++) s += String.fromCodePoint(randCodePoint());
    return s;
}

// The JSON text of `obj` in one of several equivalent spellings: compact or
// indented, and sometimes with every non-ASCII character (only possible
// inside strings) written as \uXXXX escapes, astral ones as surrogate pairs,
// and "/" as "\/".
function jsonText(obj) {
    let text = chance(0.15) ? JSON.stringify(obj, null, pick([1, 2, "\t"])) : JSON.stringify(obj);
    if (chance(0.15)) {
        text = text.replace(/[\u0080-\uffff]/g, (ch) => "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0"));
        if (chance(0.5)) text = text.replace(/\//g, "\\/");
    }
    return text;
}

// --- transactions ------------------------------------------------------------------

function randFee() {
    return weighted([
        [2, () => 0n],
        [3, () => BigInt(rint(1, 1000))],
        [3, () => BigInt(rint(1, 500)) * 1000000000n],
        [6, () => randExactBits(rint(1, 256))],
        [1, () => MAX_U256],
    ])();
}

function randAccessList() {
    const list = [];
    const n = weighted([[3, 0], [4, 1], [3, 2], [2, 3], [1, 4]]);
    for (let i = 0; i < n; i++) {
        const address = (list.length && chance(0.1)) ? pick(list).address : randAddress();
        const storageKeys = [];
        const nk = rint(0, 3);
        for (let j = 0; j < nk; j++) {
            storageKeys.push((storageKeys.length && chance(0.1)) ? pick(storageKeys) : hex(randBytes(32)));
        }
        list.push({ address, storageKeys });
    }
    return list;
}

// The network encoding of a transaction, from ethers' RLP encoder: unsigned
// (the bytes whose keccak256 is signed; legacy per EIP-155) when sig is null.
function manualTx(t, sig) {
    const int = (x) => ethers.toBeArray(BigInt(x)); // minimal big-endian, 0 -> empty
    const to = t.to === null ? "0x" : t.to;
    const al = (t.accessList || []).map((e) => [e.address, e.storageKeys]);
    let items, prefix;
    if (t.type === 0) {
        items = [int(t.nonce), int(t.gasPrice), int(t.gas), to, int(t.value), t.data];
        items.push(...(sig ? [int(sig.v), int(sig.r), int(sig.s)] : [int(t.chainId), "0x", "0x"]));
        prefix = "0x";
    } else if (t.type === 1) {
        items = [int(t.chainId), int(t.nonce), int(t.gasPrice), int(t.gas), to, int(t.value), t.data, al];
        prefix = "0x01";
    } else {
        items = [int(t.chainId), int(t.nonce), int(t.maxTip), int(t.maxFee), int(t.gas), to, int(t.value), t.data, al];
        prefix = "0x02";
    }
    if (t.type !== 0 && sig) items.push(int(sig.yParity), int(sig.r), int(sig.s));
    return ethers.concat([prefix, ethers.encodeRlp(items)]);
}

async function genTx(wallet) {
    const type = weighted([[1, 0], [1, 1], [1, 2]]);
    const chainId = weighted([
        [3, () => 1n],
        [3, () => BigInt(rint(1, 1000))],
        [3, () => randExactBits(rint(1, 63)) % MAX_CHAIN_ID + 1n],
        [1, () => MAX_CHAIN_ID],
    ])();
    const nonce = weighted([
        [2, () => 0n],
        [3, () => BigInt(rint(1, 1000))],
        [4, () => randExactBits(rint(1, 53))],
        [1, () => MAX_SAFE],
        // Above 2^53 ethers' Transaction refuses the nonce; these cases are
        // built from ethers' RLP, keccak and secp256k1 instead (manualTx).
        [1, () => MAX_SAFE + 1n + randBits(rint(1, 64)) % (MAX_NONCE - MAX_SAFE)],
        [0.2, () => MAX_NONCE],
    ])();
    const gas = weighted([
        [1, () => 0n],
        [3, () => 21000n],
        [4, () => randExactBits(rint(1, 64))],
        [1, () => MAX_U64],
    ])();
    const value = randFee();
    const creation = chance(0.15);
    const to = creation ? null : randAddress();
    const dataLen = weighted([
        [3, () => 0],
        [4, () => rint(1, 64)],
        [2, () => rint(65, 1000)],
        [1, () => rint(1001, 20000)],
        [0.01, () => NW_TX_MAX_DATA], // the documented bound, inclusive
    ])();
    const data = hex(randBytes(dataLen));

    const etx = { type, chainId, nonce: nonce <= MAX_SAFE ? Number(nonce) : 0, gasLimit: gas, to, value, data };
    let gasPrice = 0n, maxFee = 0n, maxTip = 0n, accessList = null;
    if (type === 0 || type === 1) {
        gasPrice = randFee();
        etx.gasPrice = gasPrice;
    } else {
        maxFee = randFee();
        maxTip = chance(0.2) ? maxFee : randFee();
        if (maxTip > maxFee) [maxTip, maxFee] = [maxFee, maxTip];
        etx.maxFeePerGas = maxFee;
        etx.maxPriorityFeePerGas = maxTip;
    }
    if (type !== 0) {
        accessList = randAccessList();
        etx.accessList = accessList;
    }

    // Expected results: ethers' Transaction + signing key, and the same
    // transaction assembled from ethers' primitives (manualTx), which must
    // agree; only the latter can take nonces above 2^53.
    const txFields = { type, chainId, nonce, gas, gasPrice, maxFee, maxTip, to, value, data, accessList };
    const manualSigningHash = ethers.keccak256(manualTx(txFields, null));
    const sig = wallet.signingKey.sign(manualSigningHash);
    const yParity = sig.yParity;
    const v = type === 0 ? chainId * 2n + 35n + BigInt(yParity) : BigInt(yParity);
    const raw = manualTx(txFields, { yParity, v, r: sig.r, s: sig.s });
    const signingHash = manualSigningHash;
    if (nonce <= MAX_SAFE) {
        // ethers' own Transaction must give the same bytes; the slower
        // cross-checks (Wallet path, parsing back) run on every 4th case.
        const t = ethers.Transaction.from(etx);
        if (t.unsignedHash !== manualSigningHash) throw new Error(`seed ${seedText}: manual signing hash disagrees with ethers`);
        t.signature = sig;
        if (t.serialized !== raw) throw new Error(`seed ${seedText}: manual raw transaction disagrees with ethers`);
        if (selfCheck("tx")) {
            // The Wallet path must agree (it resolves/validates the request itself).
            const raw2 = await wallet.signTransaction({ ...etx, to: to === null ? undefined : to });
            if (raw2 !== raw) throw new Error(`seed ${seedText}: Wallet.signTransaction disagrees with Transaction+sign`);
            const back = ethers.Transaction.from(raw);
            if (back.from !== wallet.address || back.hash !== ethers.keccak256(raw) || back.type !== type) {
                throw new Error(`seed ${seedText}: ethers does not round-trip its own raw transaction`);
            }
            if (type === 0 && back.signature.networkV !== v) throw new Error("legacy v disagrees with ethers");
        }
    } else {
        const rec = ethers.recoverAddress(manualSigningHash, sig);
        if (rec !== wallet.address) throw new Error("manual transaction signature does not recover");
    }

    // The JSON-RPC style object nitrowallet parses.
    const fields = [];
    const omitType = chance(0.3);
    if (!omitType) fields.push(["type", renderQuantity(BigInt(type))]);
    fields.push(["chainId", renderQuantity(chainId)]);
    fields.push(["nonce", renderQuantity(nonce)]);
    // "gas" or its alias "gasLimit"; rarely both (they must then agree).
    const gasKeys = weighted([[14, ["gas"]], [5, ["gasLimit"]], [1, ["gas", "gasLimit"]]]);
    for (const k of gasKeys) fields.push([k, renderQuantity(gas)]);
    if (type === 2) {
        fields.push(["maxFeePerGas", renderQuantity(maxFee)]);
        fields.push(["maxPriorityFeePerGas", renderQuantity(maxTip)]);
    } else {
        fields.push(["gasPrice", renderQuantity(gasPrice)]);
    }
    if (to !== null) fields.push(["to", renderAddress(to)]);
    else if (chance(0.5)) fields.push(["to", null]);
    fields.push(["value", renderQuantity(value)]);
    // "data" or its alias "input" (absent means empty); rarely both, equal.
    if (dataLen > 0 || chance(0.6)) {
        const dataKeys = weighted([[14, ["data"]], [5, ["input"]], [1, ["data", "input"]]]);
        for (const k of dataKeys) fields.push([k, renderData(data)]);
    }
    if (accessList !== null && (accessList.length > 0 || type === 1 && omitType || chance(0.6))) {
        fields.push(["accessList", accessList.map((e) => ({
            address: renderAddress(e.address),
            storageKeys: e.storageKeys.map(renderData),
        }))]);
    }
    if (chance(0.25)) fields.push(["from", renderAddress(wallet.address.toLowerCase())]);
    if (chance(0.3)) shuffle(fields);
    const obj = Object.fromEntries(fields);
    const input_json = jsonText(obj);

    return {
        input_json,
        expect: {
            type,
            raw,
            hash: ethers.keccak256(raw),
            signing_hash: signingHash,
            r: sig.r,
            s: sig.s,
            yParity,
            v: v.toString(10),
            from: wallet.address,
        },
    };
}

// --- personal_sign ---------------------------------------------------------------------

async function genPersonal(wallet) {
    let input, msg;
    if (chance(0.6)) {
        const text = weighted([
            [1, () => ""],
            [8, () => randText(40)],
            [2, () => randText(400)],
            [1, () => randText(3000)],
        ])();
        input = { text };
        msg = text;
    } else {
        const len = weighted([[1, 0], [6, rint(1, 64)], [2, rint(65, 1000)], [1, rint(1001, 4096)],
            [0.02, NW_MESSAGE_MAX]]); // the documented bound, inclusive
        const bytes = randBytes(len);
        input = { hex: renderData(hex(bytes)) };
        msg = bytes;
    }
    const signature = await wallet.signMessage(msg);
    const hash = ethers.hashMessage(msg);
    if (selfCheck("personal") && ethers.verifyMessage(msg, signature) !== wallet.address) throw new Error("verifyMessage failed");
    return { input, expect: { hash, signature } };
}

// --- EIP-712 -------------------------------------------------------------------------------

const TYPE_NAMES = [
    "Mail", "Person", "Asset", "Order", "Group", "Wallet", "Item", "Permit", "Data", "Leaf",
    "a", "b", "z", "Zeta", "alpha", "Beta_2", "_Hidden", "X1", "Node", "node", "Token", "TOKEN",
    "Items", "DataX", "Node2", "A", "Aa", "AA", "Permit_", "Order1", "$Ref", "Pay$", "$",
];
const FIELD_NAMES = [
    "to", "from", "amount", "value", "data", "name", "owner", "spender", "nonce", "deadline",
    "contents", "items", "wallet", "flag", "id", "salt", "list", "x", "y", "_z", "v2", "meta", "Payload", "kind",
    "$value", "a$",
];

function randBaseType(structNames) {
    return weighted([
        [3, () => "address"],
        [2, () => "bool"],
        [3, () => "string"],
        [2, () => "bytes"],
        [3, () => "bytes" + rint(1, 32)],
        [1, () => "bytes32"],
        [4, () => "uint" + 8 * rint(1, 32)],
        [1, () => "uint256"],
        [4, () => "int" + 8 * rint(1, 32)],
        [1, () => "int256"],
        [structNames.length ? 6 : 0, () => pick(structNames)],
    ])();
}

function withArrays(base, maxDims) {
    let t = base;
    const dims = weighted([[10, 0], [5, 1], [2, 2], [maxDims >= 3 ? 1 : 0, 3]]);
    for (let i = 0; i < Math.min(dims, maxDims); i++) t += chance(0.5) ? "[]" : `[${weighted([[20, () => rint(1, 3)], [1, () => rint(4, 9)]])()}]`;
    return t;
}

function randTypes() {
    const nStructs = weighted([[3, 1], [3, 2], [2, 3], [2, 4]]);
    const names = shuffle(TYPE_NAMES.slice()).slice(0, nStructs); // names[0] is the root
    const types = {};
    const referenced = new Set();
    for (let i = 0; i < nStructs; i++) {
        const later = names.slice(i + 1); // only later structs: no cycles
        const nf = weighted([[30, () => rint(1, 5)], [1, () => rint(6, 40)]])();
        const fnames = shuffle(FIELD_NAMES.slice()).slice(0, nf);
        while (fnames.length < nf) fnames.push(`field${fnames.length}`);
        types[names[i]] = fnames.map((fname) => {
            const base = randBaseType(later);
            if (later.includes(base)) referenced.add(base);
            return { name: fname, type: withArrays(base, later.includes(base) ? 2 : 3) };
        });
    }
    // Every non-root struct must be used by an earlier one (ethers: one root).
    for (let j = 1; j < nStructs; j++) {
        if (referenced.has(names[j])) continue;
        const i = rint(0, j - 1);
        const used = new Set(types[names[i]].map((f) => f.name));
        let fname = FIELD_NAMES.find((f) => !used.has(f));
        for (let n = 0; fname === undefined; n++) if (!used.has(`ref${n}`)) fname = `ref${n}`;
        types[names[i]].splice(rint(0, types[names[i]].length), 0, { name: fname, type: withArrays(names[j], 1) });
        referenced.add(names[j]);
    }
    return { types, primaryType: names[0] };
}

function splitArrayType(t) {
    const m = t.match(/^(.*)\[(\d*)\]$/);
    if (!m) return null;
    return { inner: m[1], count: m[2] === "" ? -1 : parseInt(m[2], 10) };
}

function randIntValue(signed, width) {
    const w = BigInt(width);
    if (!signed) {
        const max = (1n << w) - 1n;
        return weighted([
            [2, () => 0n], [1, () => 1n], [2, () => max], [1, () => max - 1n],
            [2, () => BigInt(rint(0, 1000)) % (max + 1n)],
            [4, () => randBits(rint(1, width))],
        ])();
    }
    const max = (1n << (w - 1n)) - 1n;
    const min = -(1n << (w - 1n));
    return weighted([
        [1, () => 0n], [1, () => 1n], [1, () => -1n], [2, () => max], [1, () => max - 1n],
        [2, () => min], [1, () => min + 1n],
        [2, () => BigInt(rint(-1000, 1000)) % (max + 1n)],
        [4, () => { const x = randBits(rint(1, width - 1 || 1)) % (max + 1n); return chance(0.5) ? -x - (chance(0.5) ? 1n : 0n) : x; }],
    ])();
}

// Returns [canonical value for ethers, rendered value for the JSON].
function randValue(type, types) {
    const arr = splitArrayType(type);
    if (arr) {
        const wide = !types[arr.inner] && !splitArrayType(arr.inner) && chance(0.01);
        const n = arr.count >= 0 ? arr.count : wide ? rint(100, 1024) : weighted([[2, 0], [4, 1], [3, 2], [2, 3], [1, 4]]);
        const canon = [], rend = [];
        for (let i = 0; i < n; i++) {
            const [c, r] = randValue(arr.inner, types);
            canon.push(c);
            rend.push(r);
        }
        return [canon, rend];
    }
    if (types[type]) {
        const canon = {}, rend = [];
        for (const f of types[type]) {
            const [c, r] = randValue(f.type, types);
            canon[f.name] = c;
            rend.push([f.name, r]);
        }
        if (chance(0.3)) shuffle(rend);
        return [canon, Object.fromEntries(rend)];
    }
    let m;
    if ((m = type.match(/^(u?)int(\d+)$/))) {
        const v = randIntValue(m[1] === "", parseInt(m[2], 10));
        return [v, renderInt712(v)];
    }
    if ((m = type.match(/^bytes(\d+)$/))) {
        const h = hex(randBytes(parseInt(m[1], 10)));
        return [h, renderData(h)];
    }
    switch (type) {
    case "address": { const a = randAddress(); return [a, renderAddress(a)]; }
    case "bool": { const b = chance(0.5); return [b, b]; }
    case "string": {
        const s = weighted([[1, () => ""], [8, () => randText(30)], [1, () => randText(300)]])();
        return [s, s];
    }
    case "bytes": {
        const len = weighted([[2, 0], [6, rint(1, 64)], [2, rint(65, 600)]]);
        const h = hex(randBytes(len));
        return [h, renderData(h)];
    }
    }
    throw new Error(`unknown type ${type}`);
}

const DOMAIN_FIELDS = [
    ["name", "string"], ["version", "string"], ["chainId", "uint256"],
    ["verifyingContract", "address"], ["salt", "bytes32"],
];

// opts.maxMessageJson bounds the rendered message's JSON length (default
// 200,000); callers with a smaller body limit (the host API: 64 KiB) pass less.
// Besides the gen.mjs line fields it returns `values`: the domain, types
// (without EIP712Domain) and message as ethers takes them.
async function genTyped(wallet, opts = {}) {
    const maxMessageJson = opts.maxMessageJson ?? 200000;
    // Keep the JSON well under NW_EIP712_MAX_JSON (512 KiB): wide arrays of
    // nested structs multiply, so draw again when a message gets too big.
    let types, primaryType, message, renderedMessage;
    do {
        ({ types, primaryType } = randTypes());
        [message, renderedMessage] = randValue(primaryType, types);
    } while (JSON.stringify(renderedMessage).length > maxMessageJson);

    const domain = {}, renderedDomain = [], domainType = [];
    const allDomain = chance(0.3);
    for (const [name, type] of DOMAIN_FIELDS) {
        if (!allDomain && !chance(0.5)) continue;
        domainType.push({ name, type });
        let c, r;
        switch (name) {
        case "name": c = r = weighted([[4, () => pick(["Ether Mail", "USD Coin", "Permit2", "Seaport"])], [3, () => randText(20)], [1, () => ""]])(); break;
        case "version": c = r = weighted([[4, () => pick(["1", "2", "1.0.0", "v4"])], [2, () => randText(8)]])(); break;
        case "chainId": {
            const v = weighted([[3, () => 1n], [3, () => BigInt(rint(1, 100000))], [2, () => randExactBits(rint(1, 256))], [1, () => MAX_U256]])();
            c = v; r = renderQuantity(v, { upper: true, leadingZeros: true });
            break;
        }
        case "verifyingContract": { const a = randAddress(); c = a; r = renderAddress(a); break; }
        case "salt": { const h = hex(randBytes(32)); c = h; r = renderData(h); break; }
        }
        domain[name] = c;
        renderedDomain.push([name, r]);
    }
    if (chance(0.3)) shuffle(renderedDomain);

    const digest = ethers.TypedDataEncoder.hash(domain, types, message);
    const domainSeparator = ethers.TypedDataEncoder.hashDomain(domain);
    const structHash = ethers.TypedDataEncoder.from(types).hash(message);
    const signature = await wallet.signTypedData(domain, types, message);
    if (selfCheck("typed") && ethers.recoverAddress(digest, signature) !== wallet.address) throw new Error("typed signature does not recover");

    const typeEntries = Object.entries(types);
    typeEntries.splice(chance(0.7) ? 0 : rint(0, typeEntries.length), 0, ["EIP712Domain", domainType]);
    if (chance(0.2)) shuffle(typeEntries);
    const parts = [
        ["types", Object.fromEntries(typeEntries)],
        ["primaryType", primaryType],
        ["domain", Object.fromEntries(renderedDomain)],
        ["message", renderedMessage],
    ];
    if (chance(0.2)) shuffle(parts);
    const obj = Object.fromEntries(parts);
    let input_json = jsonText(obj);
    if (Buffer.byteLength(input_json) > 400000) input_json = JSON.stringify(obj); // stay below 512 KiB
    return {
        input_json,
        expect: {
            domain_separator: domainSeparator,
            struct_hash: structHash,
            digest,
            signature,
            encode_type: ethers.TypedDataEncoder.from(types).encodeType(primaryType), // for diagnosis
        },
        values: { domain, types, message },
    };
}

// --- keccak / raw digest ------------------------------------------------------------------

function genKeccak(forcedLen) {
    const len = forcedLen !== undefined ? forcedLen : weighted([[1, rint(0, 10)], [6, rint(0, 600)], [1, rint(128, 144)], [1, rint(264, 280)]]);
    const h = hex(randBytes(len));
    return { input: { hex: h }, expect: { hash: ethers.keccak256(h) } };
}

function genDigest(wallet) {
    const d = weighted([[8, () => hex(randBytes(32))], [1, () => "0x" + "00".repeat(32)], [1, () => "0x" + "ff".repeat(32)]])();
    const sig = new ethers.SigningKey(wallet.privateKey).sign(d);
    return { input: { digest: d }, expect: { r: sig.r, s: sig.s, yParity: sig.yParity } };
}

// --- main ---------------------------------------------------------------------------------

const KINDS = ["tx", "personal", "typed", "keccak", "digest"];
const WEIGHTS = { tx: 40, personal: 15, typed: 30, keccak: 8, digest: 7 };

async function main(argv) {
    const { seedText: seed, count, kindsArg } = parseArgs(argv);
    seedRandom(seed);
    const enabled = kindsArg ? kindsArg.split(",") : KINDS;
    for (const k of enabled) if (!KINDS.includes(k)) usage(`unknown kind ${k}`);

    const counts = Object.fromEntries(KINDS.map((k) => [k, 0]));
    let pending = [];
    let pendingBytes = 0;
    async function flush() {
        if (!pending.length) return;
        const chunk = pending.join("");
        pending = [];
        pendingBytes = 0;
        if (!process.stdout.write(chunk)) await new Promise((res) => process.stdout.once("drain", res));
    }
    async function emit(kind, wallet, body) {
        const line = { kind };
        if (wallet !== null) {
            line.key = wallet.privateKey;
            line.address = wallet.address;
        }
        Object.assign(line, body);
        pending.push(JSON.stringify(line) + "\n");
        pendingBytes += pending[pending.length - 1].length;
        counts[kind]++;
        if (pendingBytes > 1 << 20) await flush();
    }

    process.stdout.on("error", (e) => {
        if (e.code === "EPIPE") process.exit(0);
        throw e;
    });

    // Fixed part: every keccak length around the rate boundaries (136, 272).
    const forcedKeccak = [];
    if (enabled.includes("keccak")) {
        for (let l = 130; l <= 140; l++) forcedKeccak.push(l);
        for (let l = 270; l <= 275; l++) forcedKeccak.push(l);
        forcedKeccak.push(0, 1, 135, 136, 137, 271, 272, 273, 408);
    }
    const table = enabled.map((k) => [WEIGHTS[k], k]);
    for (let i = 0; i < count; i++) {
        if (i < forcedKeccak.length) {
            await emit("keccak", null, genKeccak(forcedKeccak[i]));
            continue;
        }
        const kind = weighted(table);
        switch (kind) {
        case "tx": { const w = new ethers.Wallet(randKey()); await emit(kind, w, await genTx(w)); break; }
        case "personal": { const w = new ethers.Wallet(randKey()); await emit(kind, w, await genPersonal(w)); break; }
        case "typed": { const w = new ethers.Wallet(randKey()); const { input_json, expect } = await genTyped(w); await emit(kind, w, { input_json, expect }); break; }
        case "keccak": await emit(kind, null, genKeccak()); break;
        case "digest": { const w = new ethers.Wallet(randKey()); await emit(kind, w, genDigest(w)); break; }
        }
    }
    await flush();
    process.stderr.write(`gen.mjs: seed ${seedText}: ${count} cases: ` +
        KINDS.map((k) => `${k} ${counts[k]}`).join(", ") + "\n");
}

// Importers (tests/oracle/devnode_sign.mjs) reuse the generators with their
// own seed; gen.mjs's output for a given seed does not depend on them.
export { genTyped, randText, randBytes, randKey, rint, chance, pick, weighted, hex, renderData, jsonText };

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
    await main(process.argv.slice(2));
}
