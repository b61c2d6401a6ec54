// Echo server on Node.js: `net` for TCP, `dgram` for UDP, `tls` for TLS.
//
//   node node_echo.js tcp|udp PORT [HOST]
//   node node_echo.js tls PORT HOST CERT KEY
//
// SIGTERM and SIGINT close the server and exit.
'use strict';

const net = require('net');
const dgram = require('dgram');
const fs = require('fs');
const tls = require('tls');

const [proto, portArg, host = '127.0.0.1', cert, key] = process.argv.slice(2);
const port = Number(portArg);
if (!['tcp', 'udp', 'tls'].includes(proto) || !Number.isInteger(port) || port < 1 ||
    port > 65535 || (proto === 'tls' && !(cert && key))) {
  console.error('usage: node node_echo.js tcp|udp PORT [HOST]\n' +
                '       node node_echo.js tls PORT HOST CERT KEY');
  process.exit(2);
}

const echo = (socket) => {
  socket.setNoDelay(true);
  socket.on('data', (data) => socket.write(data));
  socket.on('error', () => socket.destroy());
};

let server;
if (proto === 'tcp') {
  server = net.createServer({ noDelay: true }, echo);
  server.listen({ port, host, backlog: 511 });
} else if (proto === 'tls') {
  const options = { cert: fs.readFileSync(cert), key: fs.readFileSync(key), noDelay: true };
  server = tls.createServer(options, echo);
  server.listen({ port, host, backlog: 511 });
} else {
  server = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  server.on('message', (msg, rinfo) => server.send(msg, rinfo.port, rinfo.address));
  server.bind(port, host);
}
server.on('error', (err) => {
  console.error(`node_echo: ${err.message}`);
  process.exit(1);
});

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
