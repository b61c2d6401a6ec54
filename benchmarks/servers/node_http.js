// HTTP/1.1 "Hello, world!" on Node.js: http.createServer, Content-Type text/plain.
//
//   node node_http.js PORT [HOST]
//
// Node adds Date, Connection and Keep-Alive headers. SIGTERM and SIGINT close the
// server and exit.
'use strict';

const http = require('http');

const [portArg, host = '127.0.0.1'] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node node_http.js PORT [HOST]');
  process.exit(2);
}

const body = Buffer.from('Hello, world!');
const server = http.createServer((req, res) => {
  res.writeHead(200, {'Content-Type': 'text/plain', 'Content-Length': body.length});
  res.end(body);
});
server.keepAliveTimeout = 0; // never close an idle keep-alive connection mid-run
server.listen(port, host, 511);

const stop = () => {
  server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
