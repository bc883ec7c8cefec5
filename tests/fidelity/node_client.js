// The reference article's client under Node `ws`, its four listeners printing one JSON line per event.
// argv: url, action ("" | "close after message" | "close before open"), protocols as JSON.
'use strict';
const WebSocket = require('ws');
const [url, action, protocols] = process.argv.slice(2);
const wanted = JSON.parse(protocols || '[]');
const socket = wanted.length ? new WebSocket(url, wanted) : new WebSocket(url);
const print = (fields) => console.log(JSON.stringify(fields));

socket.addEventListener('open', () => {
    print({ type: 'open' });
    socket.send('Bonjour serveur!');
});

socket.addEventListener('message', (event) => {
    print({ type: 'message' });
    if (action === 'close after message') socket.close(1000, 'bye');
});

socket.addEventListener('close', (event) => {
    print({ type: 'close', code: event.code, reason: event.reason });
    setTimeout(() => process.exit(0), 50);
});

socket.addEventListener('error', (error) => {
    print({ type: 'error', message: String(error.message) });
});

if (action === 'close before open') socket.close();
