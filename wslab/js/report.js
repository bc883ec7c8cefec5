// Preloaded by wslab/node.py (node --require) for the ws servers it starts: every event the
// server's sockets fire is printed as one line "@@wslab {json}" before the application's listeners
// run, and wslab records it in the lab's table (side "server"). The application's code is untouched.
'use strict';
// The very ws the application loads: its code runs with `node -e` in the folder that holds
// node_modules, so it resolves 'ws' from the working directory (then NODE_PATH). This file may live
// elsewhere (site-packages, below another node_modules), where a plain require('ws') could find a
// second copy whose prototype the application never uses.
const WebSocket = require(require.resolve('ws', { paths: [process.cwd()] }));

const say = (fields) => process.stdout.write('@@wslab ' + JSON.stringify(fields) + '\n'); // synchronous on a pipe
const text = (data) => (Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
const KEEP = 4096; // a longer message is reported by its size and its first KEEP characters or bytes
// what a message holds, for the report: its text, or its bytes in base64
function payload(data, isBinary) {
    const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) return { size: bytes.length, b64: bytes.subarray(0, KEEP).toString('base64') };
    return { size: bytes.length, text: text(data).slice(0, KEEP) };
}
let count = 0;

const serverEmit = WebSocket.Server.prototype.emit;
WebSocket.Server.prototype.emit = function (name, ...args) {
    if (name === 'connection') watch(args[0], args[1]);
    return serverEmit.call(this, name, ...args);
};

function watch(ws, request) {
    const id = ++count;
    say({ ev: 'connection', id, port: request.socket.remotePort, path: request.url });
    const emit = ws.emit;
    ws.emit = function (name, ...args) {
        if (name === 'message') {
            const [data, isBinary] = args;
            say({ ev: 'message', id, ...payload(data, isBinary) });
        } else if (name === 'close') {
            say({ ev: 'close', id, code: args[0], reason: text(args[1] || '') });
        } else if (name === 'error') {
            say({ ev: 'error', id, error: `${args[0].name}: ${args[0].message}`, code: args[0].code || null });
        }
        return emit.call(this, name, ...args);
    };
    const send = ws.send;
    ws.send = function (data, ...rest) {
        if (this.readyState === WebSocket.OPEN) {
            say({ ev: 'send', id, ...payload(data, typeof data !== 'string') });
        }
        return send.call(this, data, ...rest);
    };
    const close = ws.close;
    ws.close = function (code, reason) {
        // ws itself calls close() to answer a client's close frame: only a close this side starts is reported
        if (this.readyState === WebSocket.OPEN && !this._closeFrameReceived) {
            say({ ev: 'closing', id, code: code || 1005, reason: text(reason || '') });
        }
        return close.call(this, code, reason);
    };
    const terminate = ws.terminate;
    ws.terminate = function () {
        say({ ev: 'terminate', id });
        return terminate.call(this);
    };
}

process.on('exit', (code) => say({ ev: 'exit', code }));
