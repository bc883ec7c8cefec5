// Preloaded by wslab/node.py (node --require): a server that names only a port, like the seed's
// `new WebSocket.Server({ port })`, would listen on every interface; keep it on 127.0.0.1.
'use strict';
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'number' && typeof args[1] !== 'string') {
        args.splice(1, args[1] === undefined ? 1 : 0, '127.0.0.1');
    }
    return listen.apply(this, args);
};
