import Foundation
import Hummingbird
import NIOCore

/// Whether the client of a request is still connected, so the batcher can drop a queued
/// request whose client went away instead of computing it. Hummingbird does not cancel a
/// handler when its connection ends, and it allows remote half-closure, so the channel stays
/// active after the client's FIN: `ClientWatch` marks the connection gone on the FIN, as Go's
/// net/http cancels a request's context when its connection's read side ends. (An HTTP/1.1
/// client that half-closes and still waits for its answer is rare; it would get no answer
/// from a queued request.)
public final class ClientConnection: @unchecked Sendable {
    private let lock = NSLock()
    private var gone = false

    public init() {}

    public var isGone: Bool { lock.withLock { gone } }
    func markGone() { lock.withLock { gone = true } }

    /// The connection of the request this task serves (set by the routes, read by
    /// `BatchScheduler.run`); nil where there is none (the router tests, library callers).
    @TaskLocal public static var current: ClientConnection?

    // The connection of each open channel, for the request context to find its own.
    private static let lock = NSLock()
    nonisolated(unsafe) private static var open: [ObjectIdentifier: ClientConnection] = [:]

    static func register(_ c: ClientConnection, for channel: any Channel) { lock.withLock { open[ObjectIdentifier(channel)] = c } }
    static func unregister(_ channel: any Channel) { _ = lock.withLock { open.removeValue(forKey: ObjectIdentifier(channel)) } }
    static func of(_ channel: any Channel) -> ClientConnection? { lock.withLock { open[ObjectIdentifier(channel)] } }
}

/// In every connection's pipeline: marks its `ClientConnection` gone when the client's side
/// ends (FIN: input closed; reset or close: inactive). Passes everything on unchanged.
final class ClientWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let connection = ClientConnection()

    func handlerAdded(context: ChannelHandlerContext) { ClientConnection.register(connection, for: context.channel) }
    func handlerRemoved(context: ChannelHandlerContext) {
        connection.markGone()
        ClientConnection.unregister(context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? ChannelEvent, e == .inputClosed { connection.markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.markGone()
        context.fireChannelInactive()
    }
}

/// The request context of `electra serve`: Hummingbird's, plus the client's connection.
public struct ServeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let connection: ClientConnection?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ClientConnection.of(source.channel)
    }
}
