#!/usr/bin/env node
// devnode_flow.mjs - sign transactions through nitrowallet-host's API and
// have a real Ethereum node (Hardhat Network, tests/oracle/hardhat.config.cjs)
// execute them.  Driven by tests/suites/devnode_hardhat.sh, which starts the
// node and the local stack and passes, in the environment:
//   NW_API_URL, NW_ADMIN_TOKEN, NW_SIGNER_TOKEN   the host API and two tokens
//   NW_RPC_URL                                    the node's JSON-RPC endpoint
//   NW_ACCOUNT                                    the account name to create
//   NW_DEVNODE_SEED                               seed of the random values
// The flow is a wallet's: the account is created through the API, funded by
// the node's first account, and every nonce, fee and gas limit is read from
// the node (eth_getTransactionCount, eth_feeHistory, eth_gasPrice,
// eth_estimateGas) before the API signs.  The node is the judge: it recovers
// the sender, executes, and its balances must move by exactly value + fee.
// Prints "ok: ..." per check; the first failure prints "FAIL: ..." and exits 1.
import { ethers } from "ethers";
import { seedRandom, randBytes, rint, hex } from "./gen.mjs";

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const API = env("NW_API_URL");
const ADMIN = env("NW_ADMIN_TOKEN");
const SIGNER = env("NW_SIGNER_TOKEN");
const RPC = env("NW_RPC_URL");
const NAME = env("NW_ACCOUNT");
const CHAIN_ID = 31337n;
seedRandom("devnode-flow:" + env("NW_DEVNODE_SEED"));

const ok = (msg) => console.log("ok: " + msg);
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}
const q = (v) => ethers.toQuantity(v); // JSON-RPC QUANTITY
const big = (v) => BigInt(v);
const same = (a, b) => typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();

// The node, spoken to in raw JSON-RPC (provider.send), so the values are the
// node's and not ethers' derived ones.
const provider = new ethers.JsonRpcProvider(RPC, ethers.Network.from(Number(CHAIN_ID)), {
  staticNetwork: true,
  batchMaxCount: 1,
});
const rpc = (method, params) => provider.send(method, params);

async function api(method, path, token, body, want) {
  const res = await fetch(API + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  const text = await res.text();
  check(res.status === want, `${method} ${path}: status ${res.status}, want ${want}: ${text}`);
  return JSON.parse(text);
}

async function receiptOf(hash) {
  for (let i = 0; i < 300; i++) { // Hardhat mines at once; poll in case it is slow
    const r = await rpc("eth_getTransactionReceipt", [hash]);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no receipt for ${hash} after 30 s`);
}

// The node's own words for a refused request (ethers keeps the JSON-RPC
// error object in e.error).
const rpcError = (e) => String((e && e.error && e.error.message) || (e && e.message) || e);
const refusal = (p) => p.then(() => null, rpcError);

const balance = async (addr, block) => big(await rpc("eth_getBalance", [addr, q(block)]));

// Sign `tx` (the API's JSON) through the API, submit the raw bytes, and check
// what the node made of them.  Returns the receipt.
async function signSubmitCheck(label, account, tx) {
  const signed = await api("POST", `/v1/accounts/${NAME}/sign/transaction`, SIGNER, { transaction: tx }, 200);
  check(signed.from === account, `${label}: API from ${signed.from}, want ${account}`);
  const hash = await rpc("eth_sendRawTransaction", [signed.raw_transaction]);
  check(hash === signed.transaction_hash, `${label}: node's hash ${hash} != API's ${signed.transaction_hash}`);
  const rc = await receiptOf(hash);
  check(rc.status === "0x1", `${label}: receipt status ${rc.status}`);
  check(rc.transactionHash === hash, `${label}: receipt hash ${rc.transactionHash}`);
  check(same(rc.from, account), `${label}: receipt from ${rc.from}, want ${account}`);
  const mined = await rpc("eth_getTransactionByHash", [hash]);
  check(same(mined.from, account), `${label}: node recovered from = ${mined.from}, want ${account}`);
  check(big(mined.type) === big(tx.type), `${label}: node sees type ${mined.type}, want ${tx.type}`);
  check(big(mined.nonce) === big(tx.nonce), `${label}: node sees nonce ${mined.nonce}, want ${tx.nonce}`);
  // Hardhat omits chainId for legacy transactions; their v carries it (below).
  if (tx.type !== 0) check(big(mined.chainId) === CHAIN_ID, `${label}: node sees chainId ${mined.chainId}`);
  check(big(mined.value) === big(tx.value), `${label}: node sees value ${mined.value}`);
  check(tx.to ? same(mined.to, tx.to) : mined.to === null, `${label}: node sees to ${mined.to}`);
  check(big(mined.gas) === big(tx.gas), `${label}: node sees gas ${mined.gas}`);

  // Balances, block before vs. the transaction's block (one transaction per
  // block: Hardhat automines).
  const blk = big(rc.blockNumber);
  const block = await rpc("eth_getBlockByNumber", [rc.blockNumber, false]);
  check(block.transactions.length === 1, `${label}: ${block.transactions.length} transactions in its block`);
  const fee = big(rc.gasUsed) * big(rc.effectiveGasPrice);
  const spent = (await balance(account, blk - 1n)) - (await balance(account, blk));
  check(spent === big(tx.value) + fee, `${label}: sender paid ${spent}, want value ${big(tx.value)} + fee ${fee}`);
  if (tx.to) {
    const got = (await balance(tx.to, blk)) - (await balance(tx.to, blk - 1n));
    check(got === big(tx.value), `${label}: recipient got ${got}, want ${big(tx.value)}`);
  }
  if (tx.type === 2) {
    const want = ethers.getBigInt(tx.maxFeePerGas) < big(block.baseFeePerGas) + ethers.getBigInt(tx.maxPriorityFeePerGas)
      ? ethers.getBigInt(tx.maxFeePerGas) : big(block.baseFeePerGas) + ethers.getBigInt(tx.maxPriorityFeePerGas);
    check(big(rc.effectiveGasPrice) === want, `${label}: effectiveGasPrice ${rc.effectiveGasPrice}, want min(maxFee, baseFee + tip) = ${want}`);
  } else {
    check(big(rc.effectiveGasPrice) === big(tx.gasPrice), `${label}: effectiveGasPrice ${rc.effectiveGasPrice} != gasPrice`);
  }
  ok(`${label}: node accepted ${hash.slice(0, 18)}.. (hash = API's), status 1, from = ${account}, ` +
    `sender -${ethers.formatEther(spent)} ETH = value + ${big(rc.gasUsed)} gas x ${big(rc.effectiveGasPrice)} wei` +
    (tx.to ? ", recipient +value" : ""));
  return { rc, mined, signed };
}

// Fees as a wallet reads them from the node.
async function fees1559() {
  const fh = await rpc("eth_feeHistory", ["0x4", "latest", [50]]);
  const nextBase = big(fh.baseFeePerGas[fh.baseFeePerGas.length - 1]); // the pending block's base fee
  const rewards = (fh.reward || []).map((r) => big(r[0])).filter((r) => r > 0n);
  const tip = rewards.length ? rewards[rewards.length - 1] : big(await rpc("eth_maxPriorityFeePerGas", []));
  return { maxFeePerGas: q(2n * nextBase + tip), maxPriorityFeePerGas: q(tip) };
}
const nonceOf = async (addr) => q(big(await rpc("eth_getTransactionCount", [addr, "pending"])));
const estimate = async (req) => q(big(await rpc("eth_estimateGas", [req])));
const randValue = () => BigInt(rint(1, 1000000)) * 10n ** 12n + BigInt(rint(0, 999999)); // ~1e12..1e18 wei, odd digits
const randRecipient = () => ethers.getAddress(hex(randBytes(20)));

async function main() {
  check(big(await rpc("eth_chainId", [])) === CHAIN_ID, "the node's chain id is not 31337");

  // 1. An account made by the API (its key exists only in the enclave).
  const created = await api("POST", "/v1/accounts", ADMIN, { name: NAME }, 201);
  const account = created.address;
  check(ethers.isAddress(account) && ethers.getAddress(account) === account, `address ${account} is not EIP-55`);
  ok(`POST /v1/accounts created ${NAME} = ${account}`);

  // 2. Funded by the node's first unlocked account.
  const funder = await provider.getSigner(0);
  const fund = await funder.sendTransaction({ to: account, value: ethers.parseEther("10") });
  const fundRc = await receiptOf(fund.hash);
  check(fundRc.status === "0x1", "funding failed");
  check(big(await rpc("eth_getBalance", [account, "latest"])) === ethers.parseEther("10"), "funded balance");
  ok(`funded with 10 ETH by the node's account 0 (${await funder.getAddress()})`);

  // 3. EIP-1559 transfer.
  {
    const to = randRecipient();
    const value = q(randValue());
    const gas = await estimate({ from: account, to, value });
    const tx = { type: 2, chainId: Number(CHAIN_ID), nonce: await nonceOf(account), gas, ...(await fees1559()), to, value, data: "0x" };
    const { signed } = await signSubmitCheck("EIP-1559 transfer", account, tx);
    // The node must refuse the same bytes again (the nonce is spent): it
    // really checks what it is given.
    const replay = await refusal(rpc("eth_sendRawTransaction", [signed.raw_transaction]));
    check(replay !== null && /nonce/i.test(replay), `replayed transaction: ${replay === null ? "accepted" : replay}`);
    ok(`replaying the raw EIP-1559 transaction is refused by the node: ${replay.slice(0, 80)}`);
  }

  // 4. EIP-2930 transfer with a non-empty access list.
  {
    const to = randRecipient();
    const value = q(randValue());
    const accessList = [
      { address: to, storageKeys: [hex(randBytes(32)), hex(randBytes(32))] },
      { address: randRecipient(), storageKeys: [] },
    ];
    const gas = await estimate({ from: account, to, value, accessList, type: "0x1" });
    const tx = {
      type: 1, chainId: Number(CHAIN_ID), nonce: await nonceOf(account), gas,
      gasPrice: q(big(await rpc("eth_gasPrice", []))), to, value, accessList,
    };
    const { mined } = await signSubmitCheck("EIP-2930 transfer", account, tx);
    const seen = (mined.accessList || []).map((e) => [ethers.getAddress(e.address), e.storageKeys]);
    check(JSON.stringify(seen) === JSON.stringify(accessList.map((e) => [e.address, e.storageKeys])),
      `EIP-2930: the node's access list ${JSON.stringify(mined.accessList)} differs`);
    check(big(mined.gas) >= 21000n + 2n * 2400n + 2n * 1900n, "EIP-2930: gas does not cover the access list");
    ok("EIP-2930: the node's access list is the one sent (2 addresses, 2 storage keys)");
  }

  // 5. Legacy transfer, EIP-155 protected.  Its value is a JSON number
  // k * 10^15 (0.00k ETH), which docs/signing.md allows below 2^53 and which
  // cJSON would re-print as "ke+15" (the host must forward it exactly).
  {
    const to = randRecipient();
    const value = rint(1, 9) * 1e15;
    const gas = await estimate({ from: account, to, value: q(BigInt(value)) });
    const tx = { type: 0, chainId: Number(CHAIN_ID), nonce: await nonceOf(account), gas, gasPrice: q(big(await rpc("eth_gasPrice", []))), to, value };
    const { signed, mined } = await signSubmitCheck("legacy EIP-155 transfer", account, tx);
    const v = big(mined.v);
    check(v === CHAIN_ID * 2n + 35n || v === CHAIN_ID * 2n + 36n, `legacy: node's v = ${v} is not EIP-155 for chain ${CHAIN_ID}`);
    check(ethers.Transaction.from(signed.raw_transaction).signature.networkV === v, "legacy: ethers reads another v");
    ok(`legacy: v = ${v} = chainId * 2 + 35 + yParity (EIP-155)`);

    // The same transfer signed for chain 1 must not run on chain 31337.
    const other = await api("POST", `/v1/accounts/${NAME}/sign/transaction`, SIGNER,
      { transaction: { ...tx, chainId: 1, nonce: await nonceOf(account) } }, 200);
    const refused = await refusal(rpc("eth_sendRawTransaction", [other.raw_transaction]));
    check(refused !== null && /chain/i.test(refused), `legacy transaction for chain 1: ${refused === null ? "accepted" : refused}`);
    ok(`the same legacy transfer signed for chain id 1 is refused by the node: ${refused.slice(0, 80)}`);
  }

  // 6. Contract creation: init code copying a runtime that returns a random
  // 32-byte constant (PUSH32 c; MSTORE at 0; RETURN 32 bytes).
  {
    const c = hex(randBytes(32));
    const runtime = "0x7f" + c.slice(2) + "60005260206000f3";
    const rlen = (runtime.length - 2) / 2; // 41
    // PUSH1 rlen; DUP1; PUSH1 11 (this prefix's length); PUSH1 0; CODECOPY; PUSH1 0; RETURN
    const init = "0x60" + rlen.toString(16).padStart(2, "0") + "80600b6000396000f3" + runtime.slice(2);
    const nonce = await nonceOf(account);
    const gas = await estimate({ from: account, data: init });
    const tx = { type: 2, chainId: Number(CHAIN_ID), nonce, gas, ...(await fees1559()), value: "0x0", data: init };
    const { rc } = await signSubmitCheck("contract creation (EIP-1559, no to)", account, tx);
    const expected = ethers.getCreateAddress({ from: account, nonce: big(nonce) });
    check(rc.contractAddress && same(rc.contractAddress, expected), `creation: contractAddress ${rc.contractAddress}, want ${expected}`);
    const code = await rpc("eth_getCode", [rc.contractAddress, rc.blockNumber]);
    check(code === runtime, `creation: code ${code}, want ${runtime}`);
    const out = await rpc("eth_call", [{ to: rc.contractAddress, data: "0x" }, "latest"]);
    check(out === c, `creation: eth_call returned ${out}, want ${c}`);
    ok(`creation: contract at ${rc.contractAddress} = keccak(rlp(from, nonce)); its code is what the init code returns; eth_call gives the constant`);
  }

  const n = big(await rpc("eth_getTransactionCount", [account, "latest"]));
  check(n === 4n, `the account's nonce is ${n} after 4 transactions`);
  ok("the node counts 4 transactions from the account (nonce 4)");
}

try {
  await main();
} catch (e) {
  console.log("FAIL: " + (e && e.stack ? e.stack : e));
  process.exitCode = 1;
} finally {
  provider.destroy();
}
