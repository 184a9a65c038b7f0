#!/usr/bin/env node
// convert_published.mjs - turn the published transaction vectors named in
// tests/data/README.md into the JSON-lines form of gen.mjs, checking every
// published value against ethers first (it refuses to write anything that
// ethers does not reproduce exactly).
//
//   node tests/oracle/convert_published.mjs > tests/data/published_vectors.jsonl
//
// Run from anywhere; the inputs are read relative to this file.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import { ethers } from "ethers";

const dataDir = join(dirname(fileURLToPath(import.meta.url)), "..", "data");
const out = [];

function fail(msg) {
    process.stderr.write(`convert_published.mjs: ${msg}\n`);
    process.exit(1);
}

const q = (v) => "0x" + BigInt(v).toString(16);

// Sign `etx` with ethers, require the published raw transaction (and signing
// hash when published), and emit one "tx" line.
function addTx(source, key, etx, inputObj, publishedRaw, publishedSigningHash) {
    const wallet = new ethers.Wallet(key);
    const t = ethers.Transaction.from(etx);
    const signingHash = t.unsignedHash;
    if (publishedSigningHash && signingHash !== publishedSigningHash) {
        fail(`${source}: signing hash ${signingHash} != published ${publishedSigningHash}`);
    }
    const sig = wallet.signingKey.sign(signingHash);
    t.signature = sig;
    const raw = t.serialized;
    if (raw !== publishedRaw) fail(`${source}: ethers gives raw ${raw}, published ${publishedRaw}`);
    const back = ethers.Transaction.from(publishedRaw);
    if (back.from !== wallet.address) fail(`${source}: published raw recovers to ${back.from}, not ${wallet.address}`);
    const v = etx.type === 0 ? BigInt(etx.chainId) * 2n + 35n + BigInt(sig.yParity) : BigInt(sig.yParity);
    out.push({
        kind: "tx",
        source,
        key,
        address: wallet.address,
        input_json: JSON.stringify(inputObj),
        expect: {
            type: etx.type,
            raw,
            hash: ethers.keccak256(raw),
            signing_hash: signingHash,
            r: sig.r,
            s: sig.s,
            yParity: sig.yParity,
            v: v.toString(10),
            from: wallet.address,
        },
    });
}

// (a) EIP-155, "Example" section (https://eips.ethereum.org/EIPS/eip-155).
{
    const key = "0x" + "46".repeat(32);
    const etx = {
        type: 0, chainId: 1n, nonce: 9, gasPrice: 20000000000n, gasLimit: 21000n,
        to: "0x" + "35".repeat(20), value: 1000000000000000000n, data: "0x",
    };
    const input = {
        type: "0x0", chainId: "0x1", nonce: "0x9", gasPrice: q(etx.gasPrice), gas: q(etx.gasLimit),
        to: etx.to, value: q(etx.value), data: "0x",
    };
    addTx("EIP-155 example", key, etx, input,
        "0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83",
        "0xdaf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
}

// (b) ethereumjs-monorepo packages/tx/test/json/eip1559.json, last version
// (commit 6714f0d1e943e876cf4e31b9054f3bb684843a67).  The file has no chain
// id: its transactions use 4 (Rinkeby, read from the RLP), no data and an
// empty access list.  (Versions before May 2021 call the tip
// maxInclusionFeePerGas and use chain id 7822; both are accepted here.)
// signedTransactionRLP wraps the network encoding in one more RLP string
// header; the raw transaction is that string's payload.
{
    const vectors = JSON.parse(readFileSync(join(dataDir, "eip1559_ethereumjs.json"), "utf8"));
    vectors.forEach((vec, i) => {
        const wrapped = ethers.decodeRlp(vec.signedTransactionRLP);
        if (typeof wrapped !== "string") fail(`eip1559.json[${i}]: signedTransactionRLP is not an RLP string`);
        const raw = wrapped;
        const parsed = ethers.Transaction.from(raw);
        const chainId = parsed.chainId;
        if (chainId !== 4n && chainId !== 7822n) fail(`eip1559.json[${i}]: unexpected chain id ${chainId}`);
        const tip = vec.maxPriorityFeePerGas !== undefined ? vec.maxPriorityFeePerGas : vec.maxInclusionFeePerGas;
        const etx = {
            type: 2, chainId, nonce: vec.nonce, gasLimit: BigInt(vec.gasLimit),
            maxPriorityFeePerGas: BigInt(tip), maxFeePerGas: BigInt(vec.maxFeePerGas),
            to: vec.to, value: BigInt(vec.value), data: "0x", accessList: [],
        };
        const input = {
            type: "0x2", chainId: q(chainId), nonce: q(vec.nonce), gas: q(vec.gasLimit),
            maxFeePerGas: q(vec.maxFeePerGas), maxPriorityFeePerGas: q(tip),
            to: vec.to, value: q(vec.value), data: "0x", accessList: [],
        };
        addTx(`ethereumjs eip1559.json[${i}]`, vec.privateKey, etx, input, raw, null);
    });
}

process.stdout.write(out.map((l) => JSON.stringify(l)).join("\n") + "\n");
process.stderr.write(`convert_published.mjs: ${out.length} vectors, all reproduced by ethers\n`);
