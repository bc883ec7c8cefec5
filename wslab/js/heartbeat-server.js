const WebSocket = require('ws');
const wss = new WebSocket.Server({
    port: Number(process.env.WSLAB_PORT),
    maxPayload: 1024, // bytes; ws's default is 100 MiB
});

function heartbeat() {
    this.isAlive = true; // a pong came back
}

wss.on('connection', (ws) => {
    ws.isAlive = true;
    ws.on('pong', heartbeat);

    ws.on('message', (message) => {
        ws.send(`Serveur a reçu : ${message}`);
    });

    ws.on('close', (code) => {
        console.log('Client déconnecté:', code);
    });

    ws.on('error', (error) => {
        console.error('Erreur:', error.message);
    });

    ws.send('Bienvenue sur le serveur WebSocket');
});

const interval = setInterval(() => {
    wss.clients.forEach((ws) => {
        if (ws.isAlive === false) return ws.terminate(); // no pong since the last ping: gone
        ws.isAlive = false;
        ws.ping();
    });
}, 500); // every 30 s in production; 0.5 s here so the lesson does not wait

wss.on('close', () => clearInterval(interval));
