#!/usr/bin/env node
// verify_signed.mjs - recover signers with ethers v6 (an independent
// implementation) for the enclave protocol suite.  One JSON object per
// stdin line, one recovered address (EIP-55) per stdout line:
//   {"kind":"tx","raw":"0x.."}                          Transaction.from(raw).from
//   {"kind":"txhash","raw":"0x.."}                      Transaction.from(raw).hash (not an address)
//   {"kind":"pubkey","public_key":"0x04.."}             computeAddress(public_key)
//   {"kind":"message","text":"..","signature":"0x.."}   verifyMessage(text)
//   {"kind":"message","hex":"0x..","signature":"0x.."}  verifyMessage(bytes)
//   {"kind":"typed","typed_data":{..},"signature":"0x.."} verifyTypedData
//   {"kind":"digest","digest":"0x..","signature":"0x.."} recoverAddress
// A line that fails prints "error: <message>".
import { createInterface } from "node:readline";
import { ethers } from "ethers";

function recover(c) {
  switch (c.kind) {
    case "tx":
      return ethers.Transaction.from(c.raw).from;
    case "txhash":
      return ethers.Transaction.from(c.raw).hash;
    case "pubkey":
      return ethers.computeAddress(c.public_key);
    case "message":
      return ethers.verifyMessage(c.text !== undefined ? c.text : ethers.getBytes(c.hex), c.signature);
    case "typed": {
      const types = { ...c.typed_data.types };
      delete types.EIP712Domain;
      return ethers.verifyTypedData(c.typed_data.domain, types, c.typed_data.message, c.signature);
    }
    case "digest":
      return ethers.recoverAddress(c.digest, c.signature);
    default:
      throw new Error("unknown kind " + c.kind);
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  try {
    console.log(recover(JSON.parse(line)));
  } catch (e) {
    console.log("error: " + e.message.split("\n")[0]);
  }
}
