// The reference article's `ws` server, each listener printing one JSON line; port 0 on 127.0.0.1.
// argv: "throws" makes the message handler throw after printing (an uncaught exception).
'use strict';
const WebSocket = require('ws');
const throws = process.argv[2] === 'throws';
const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0 });
const print = (fields) => console.log(JSON.stringify(fields));

wss.on('listening', () => print({ type: 'listening', port: wss.address().port }));

wss.on('connection', (ws) => {
    print({ type: 'connection' });

    ws.on('message', (message) => {
        print({ type: 'message' });
        if (throws) throw new Error('boom');
        ws.send(`Serveur a reçu : ${message}`);
    });

    ws.on('close', (code, reason) => {
        print({ type: 'close', code, reason: reason.toString() });
    });

    ws.on('error', (error) => {
        print({ type: 'error', message: String(error.message) });
    });

    ws.send('Bienvenue sur le serveur WebSocket');
});
