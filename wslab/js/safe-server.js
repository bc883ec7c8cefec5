const WebSocket = require('ws');
const wss = new WebSocket.Server({ port: Number(process.env.WSLAB_PORT) });

wss.on('connection', (ws) => {
    console.log('Nouveau client connecté');

    ws.on('message', (message) => {
        try {
            const data = JSON.parse(message);
            ws.send(`Serveur a reçu : ${data.text.toUpperCase()}`);
        } catch (error) {
            if (error instanceof SyntaxError) {
                // the client's mistake: tell it, and keep the connection
                ws.send(JSON.stringify({ type: 'error', error: 'JSON invalide' }));
            } else {
                // our own bug: log it, close this one connection (1011), keep the server
                console.error('Bug dans le handler:', error.message);
                ws.close(1011, 'erreur interne');
            }
        }
    });

    ws.on('close', () => {
        console.log('Client déconnecté');
    });

    ws.on('error', (error) => {
        console.error('Erreur:', error.message);
    });

    ws.send('Bienvenue sur le serveur WebSocket');
});
