// dynalite_loopback.cjs [PORT] - dynalite (an in-memory DynamoDB API, npm)
// on 127.0.0.1 only, on PORT or an ephemeral port (default 0), tables ACTIVE
// at once.  Its own CLI listens on every interface and cannot take port 0,
// so the suites start it through this.  Prints
// "dynalite listening on http://127.0.0.1:PORT" when ready.
'use strict'
const dynalite = require('dynalite')
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(Number(process.argv[2] || 0), '127.0.0.1', () => {
  console.log('dynalite listening on http://127.0.0.1:' + server.address().port)
})
process.on('SIGTERM', () => process.exit(0))
