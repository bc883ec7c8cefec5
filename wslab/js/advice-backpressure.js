// Advice 2 (handle errors) and resources: send a lot without flooding the browser's memory.
// socket.bufferedAmount is what send() has queued but the network has not taken yet.
const CHUNK = 'x'.repeat(256 * 1024); // 256 KiB
const TOTAL = 16;                      // 4 MiB in all
const HIGH = 1024 * 1024;              // pause while more than 1 MiB waits

const socket = new WebSocket(url);
let sent = 0;
let pauses = 0;
let paused = false;

function pump() {
    while (sent < TOTAL && socket.bufferedAmount < HIGH) {
        socket.send(CHUNK);
        sent += 1;
        paused = false;
    }
    if (sent < TOTAL) {
        if (!paused) {
            paused = true;
            pauses += 1;
            console.log('Pause: bufferedAmount =', socket.bufferedAmount, 'après', sent, 'envois');
        }
        setTimeout(pump, 50); // browsers have no "drain" event: look again soon
    } else if (socket.bufferedAmount > 0) {
        setTimeout(pump, 50); // everything is queued: wait until it has left
    } else {
        console.log('Tout est parti:', TOTAL, 'messages,', pauses, 'pauses');
        socket.close(1000, 'envoyé');
    }
}

socket.addEventListener('open', pump);
