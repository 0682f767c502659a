// Publishes one file as one AMQP message, from a process of its own (so that the test process measuring a
// receiver does not also pay for amqplib's encoding of a 50 MB message). Usage:
//   node publish-file.mjs <amqp url> <exchange> <routing key> <file> <properties as JSON>
import { readFileSync } from 'node:fs'
import process from 'node:process'
import amqp from 'amqplib'

const [url, exchange, routingKey, file, props] = process.argv.slice(2)
const conn = await amqp.connect(url)
const ch = await conn.createConfirmChannel()
await new Promise((resolve, reject) =>
  ch.publish(exchange, routingKey, readFileSync(file), { persistent: true, mandatory: true, ...JSON.parse(props) }, (err) => (err ? reject(err) : resolve())),
)
await ch.close()
await conn.close()
