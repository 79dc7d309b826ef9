// A non-.NET subscriber, as an integration would write one: binds its own queue to Jiniac's topic exchange with a
// routing key pattern and prints each message (routing key, AMQP properties and headers, body) as one JSON line.
// Usage: node amqp-subscriber.mjs AMQP_URL EXCHANGE BINDING COUNT
// Prints {"ready":true} once the queue is bound, then COUNT message lines, then exits.
import amqp from 'amqplib';

const [url, exchange, binding, countText] = process.argv.slice(2);
const count = Number(countText);
const connection = await amqp.connect(url);
const channel = await connection.createChannel();
// Declared exactly as the platform declares it (durable topic), so either side may come first.
await channel.assertExchange(exchange, 'topic', { durable: true });
const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
await channel.bindQueue(queue, exchange, binding);
console.log(JSON.stringify({ ready: true }));

let seen = 0;
await channel.consume(queue, async (msg) => {
  const headers = {};
  for (const [k, v] of Object.entries(msg.properties.headers ?? {})) {
    headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : v;
  }
  console.log(JSON.stringify({
    routingKey: msg.fields.routingKey,
    messageId: msg.properties.messageId,
    type: msg.properties.type,
    contentType: msg.properties.contentType,
    persistent: msg.properties.deliveryMode === 2,
    headers,
    body: JSON.parse(msg.content.toString('utf8')),
  }));
  channel.ack(msg);
  if (++seen >= count) {
    await channel.close();
    await connection.close();
    process.exit(0);
  }
});
