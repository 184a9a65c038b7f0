#!/usr/bin/env node
// devnode_sign.mjs - random personal_sign and EIP-712 requests through
// nitrowallet-host's API, each signature checked with ethers v6 (an
// independent implementation).  Driven by tests/suites/devnode_hardhat.sh:
//   NW_API_URL, NW_SIGNER_TOKEN, NW_ACCOUNT   the host API, a signer, an account
//   NW_DEVNODE_SEED                           seed (the suite prints it)
//   NW_DEVNODE_COUNT                          messages and documents each (40)
// Inputs come from tests/oracle/gen.mjs's generators (random Unicode text,
// random bytes, random EIP-712 types with nested structs, arrays, bytesN,
// intN/uintN, address, bool, string, bytes, written in varied but equivalent
// JSON spellings), seeded from NW_DEVNODE_SEED, so a failure is reproduced
// with the seed alone.  Prints "ok: ..." lines; the first failure prints
// "FAIL: ..." with the case and exits 1.
import { ethers } from "ethers";
import { seedRandom, genTyped, randText, randBytes, randKey, rint, chance, weighted, hex, renderData, jsonText } from "./gen.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const API = env("NW_API_URL");
const SIGNER = env("NW_SIGNER_TOKEN");
const NAME = env("NW_ACCOUNT");
const SEED = env("NW_DEVNODE_SEED");
const COUNT = parseInt(process.env.NW_DEVNODE_COUNT || "40", 10);
const BODY_MAX = 60000; // the host takes 64 KiB bodies; stay clear of the bound
const PARALLEL = 4;
seedRandom("devnode-sign:" + SEED);

const ok = (msg) => console.log("ok: " + msg);
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function post(path, bodyText) {
  const res = await fetch(API + path, {
    method: "POST",
    headers: { Authorization: `Bearer ${SIGNER}`, "Content-Type": "application/json" },
    body: bodyText,
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  check(res.status === 200, `POST ${path}: status ${res.status}: ${text}`);
  return JSON.parse(text);
}

// Personal messages: the first is empty text, the second empty bytes; then
// random Unicode text (as JSON, sometimes with \u escapes) or random bytes
// (as 0x hex, sometimes upper-case digits).
function personalCases() {
  const out = [];
  for (let i = 0; i < COUNT; i++) {
    let c;
    if (i === 0 || (i > 1 && chance(0.55))) {
      const text = i === 0 ? "" : weighted([[1, () => ""], [8, () => randText(40)], [2, () => randText(400)], [1, () => randText(3000)]])();
      c = { what: "text", msg: text, body: jsonText({ message: text }) };
    } else {
      const len = i === 1 ? 0 : weighted([[1, 0], [6, rint(1, 64)], [2, rint(65, 1000)], [1, rint(1001, 8000)]]);
      const bytes = randBytes(len);
      c = { what: "bytes", msg: bytes, body: JSON.stringify({ message_hex: renderData(hex(bytes)) }) };
    }
    check(Buffer.byteLength(c.body) <= BODY_MAX, "personal case too large"); // 3000 code points * 6 < 60000
    out.push(c);
  }
  return out;
}

async function typedCases() {
  const out = [];
  while (out.length < COUNT) {
    const t = await genTyped(new ethers.Wallet(randKey()), { maxMessageJson: 20000 });
    const body = '{"typed_data":' + t.input_json + "}";
    if (Buffer.byteLength(body) > BODY_MAX) continue; // drawn again, deterministically
    out.push({ body, digest: t.expect.digest, values: t.values });
  }
  return out;
}

// Run fn over items, PARALLEL at a time; the first failure names its case.
async function pool(items, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i);
      } catch (e) {
        throw new Error(`case ${i}: ${e.message}\n  request body: ${items[i].body.slice(0, 2000)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
}

// What the documents exercise, for the ok line.
function features(docs) {
  const seen = new Set();
  for (const d of docs) {
    const types = d.values.types;
    for (const fields of Object.values(types)) {
      for (const f of fields) {
        let t = f.type;
        if (/\[\d*\]$/.test(t)) seen.add("arrays");
        t = t.replace(/(\[\d*\])+$/, "");
        if (types[t]) seen.add("nested structs");
        else seen.add(t.replace(/^(bytes)\d+$/, "bytesN").replace(/^(u?int)\d+$/, "$1N"));
      }
    }
  }
  return [...seen].sort().join(", ");
}

async function main() {
  const acct = await (await fetch(`${API}/v1/accounts/${NAME}`, { headers: { Authorization: `Bearer ${SIGNER}` } })).json();
  const address = acct.address;
  check(ethers.isAddress(address), `GET /v1/accounts/${NAME}: ${JSON.stringify(acct)}`);

  const personal = personalCases();
  let texts = 0, unicode = 0;
  await pool(personal, async (c) => {
    const r = await post(`/v1/accounts/${NAME}/sign/message`, c.body);
    check(/^0x[0-9a-f]{130}$/.test(r.signature), `signature ${r.signature}`);
    const rec = ethers.verifyMessage(c.msg, r.signature);
    check(rec === address, `ethers.verifyMessage recovers ${rec}, want ${address}`);
  });
  for (const c of personal) if (c.what === "text") { texts++; if (/[^\x00-\x7f]/.test(c.msg)) unicode++; }
  ok(`personal_sign x${personal.length} (${texts} {"message"} texts, ${unicode} with non-ASCII, ` +
    `${personal.length - texts} {"message_hex"} byte strings, empty text and empty bytes included): ` +
    `ethers.verifyMessage recovers ${address} from every signature`);

  const typed = await typedCases();
  await pool(typed, async (c) => {
    const r = await post(`/v1/accounts/${NAME}/sign/typed-data`, c.body);
    check(r.digest === c.digest, `digest ${r.digest}, ethers TypedDataEncoder.hash ${c.digest}`);
    const { domain, types, message } = c.values;
    const rec = ethers.verifyTypedData(domain, types, message, r.signature);
    check(rec === address, `ethers.verifyTypedData recovers ${rec}, want ${address}`);
  });
  const structs = typed.reduce((n, d) => n + Object.keys(d.values.types).length, 0);
  ok(`EIP-712 x${typed.length} random documents (${structs} struct types; ${features(typed)}): ` +
    `digest = ethers TypedDataEncoder.hash and ethers.verifyTypedData recovers ${address} for every one`);
}

try {
  await main();
} catch (e) {
  console.log(`FAIL (NW_DEVNODE_SEED=${SEED}): ` + (e && e.message ? e.message : e));
  process.exitCode = 1;
}
