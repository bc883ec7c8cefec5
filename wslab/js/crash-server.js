const WebSocket = require('ws');
const wss = new WebSocket.Server({ port: Number(process.env.WSLAB_PORT) });

wss.on('connection', (ws) => {
    console.log('Nouveau client connecté');

    ws.on('message', (message) => {
        const data = JSON.parse(message);                        // throws on text that is not JSON
        ws.send(`Serveur a reçu : ${data.text.toUpperCase()}`); // throws when there is no text
    });

    ws.on('close', () => {
        console.log('Client déconnecté');
    });

    ws.on('error', (error) => {
        console.error('Erreur:', error.message);
    });

    ws.send('Bienvenue sur le serveur WebSocket');
});
