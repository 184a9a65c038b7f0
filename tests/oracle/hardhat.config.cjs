// hardhat.config.cjs - the dev node tests/suites/devnode_hardhat.sh signs
// against: Hardhat Network (an in-process Ethereum node), chain id 31337,
// no forking, no compiler (the suite deploys hand-written init code), so it
// runs offline.  Hardhat writes a cache; NW_HARDHAT_DIR (the suite's
// temporary directory) keeps it out of the repository.
const path = require("node:path");
const os = require("node:os");

const scratch = process.env.NW_HARDHAT_DIR || path.join(os.tmpdir(), "nitrowallet-hardhat");

module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: { chainId: 31337 },
  },
  paths: {
    sources: path.join(scratch, "contracts"),
    tests: path.join(scratch, "test"),
    cache: path.join(scratch, "cache"),
    artifacts: path.join(scratch, "artifacts"),
  },
};
