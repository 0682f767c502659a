/**
 * The transport: the only code that talks AMQP (amqplib). The pipeline hands it plain data and gets plain data
 * back; see README.md in this folder for the topology, the message format and the ack/nack semantics.
 */
export {
  createAmqpConnection,
  isIrrecoverable,
  IRRECOVERABLE_REPLY_CODES,
  type AmqpConnection,
  type AmqpConnectionEvents,
  type AmqpConnectionOptions,
  type AmqpTlsOptions,
  type ConnectFailure,
  type ConnectionState,
  type SetupFn,
} from './connection.js'
export {
  declareTopology,
  declareTopologyOn,
  deadLetterQueueArguments,
  inboxQueueArguments,
  resolveTopology,
  routingKeyFor,
  type InboxNames,
  type Topology,
  type TopologyOptions,
} from './topology.js'
export {
  createPublisher,
  HEADER_RECIPIENT,
  HEADER_SENDER,
  HEADER_SHA256,
  HEADER_SIGNATURE,
  LIENTHONG_HEADERS,
  MESSAGE_APP_ID,
  MESSAGE_CONTENT_TYPE,
  type OutgoingMessage,
  type PublishReceipt,
  type Publisher,
  type PublisherOptions,
} from './publisher.js'
export {
  createConsumer,
  type Consumer,
  type ConsumerOptions,
  type HandlerResult,
  type InboundMessage,
  type MessageHandler,
} from './consumer.js'
export { redactUrl, silentLogger, type TransportLogger } from './logger.js'
