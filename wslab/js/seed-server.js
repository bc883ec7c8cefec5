const WebSocket = require('ws');
const wss = new WebSocket.Server({ port: Number(process.env.WSLAB_PORT) });

wss.on('connection', (ws) => {
    console.log('Nouveau client connecté');
    
    ws.on('message', (message) => {
        console.log('Message reçu:', message);
        ws.send(`Serveur a reçu : ${message}`);
    });
    
    ws.on('close', () => {
        console.log('Client déconnecté');
    });
    
    ws.on('error', (error) => {
        console.error('Erreur:', error);
    });

    ws.send('Bienvenue sur le serveur WebSocket');
});
