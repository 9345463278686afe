import Electra
import ElectraPipelines
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// `electra serve`: TEI's HTTP API and ELECTRA's own tasks for one model, with dynamic
/// batching, on Hummingbird. SIGTERM/SIGINT stop accepting, finish what is in flight, exit 0.
public enum ElectraServer {
    /// Loads and warms the model; the router and the batcher its routes feed (run `scheduler.loop()`).
    public static func router(_ configuration: ServerConfiguration) throws -> (router: Router<ServeRequestContext>, scheduler: BatchScheduler, served: ServedModel) {
        let config = try configuration.validated()
        let served = try ServedModel(folder: config.modelFolder, dtype: config.dtype, batchSize: 32)
        // A window can be as long as the model reads (fill-mask, NER and QA windows are), and
        // a batch must hold one (TEI refuses the same).
        guard config.maxBatchTokens >= served.maxInputLength else {
            throw ElectraError("--max-batch-tokens (\(config.maxBatchTokens)) must be at least the model's max_position_embeddings (\(served.maxInputLength))")
        }
        try served.warmUp()
        let metrics = ServerMetrics()
        let scheduler = BatchScheduler(model: served.model, maxBatchTokens: config.maxBatchTokens,
                                       maxBatchRequests: config.maxBatchRequests ?? Int.max, metrics: metrics)
        let handlers = Handlers(served: served, scheduler: scheduler, config: config)
        return (Routes.router(handlers: handlers, metrics: metrics, config: config), scheduler, served)
    }

    /// Loads and warms the model, then builds the application and its batching service.
    public static func make(_ configuration: ServerConfiguration, onRunning: @escaping @Sendable (Int) async -> Void = { _ in })
        throws -> (application: some ApplicationProtocol, scheduler: SchedulerService, served: ServedModel) {
        let config = try configuration.validated()
        let (router, scheduler, served) = try Self.router(config)
        var appConfig = ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "electra-swift")
        appConfig.reuseAddress = true
        var logger = Logger(label: "electra-serve")
        logger.logLevel = .warning
        let app = Application(router: router, server: httpServer, configuration: appConfig, onServerRunning: { channel in
            await onRunning(channel.localAddress?.port ?? config.port)
        }, logger: logger)
        return (app, SchedulerService(scheduler: scheduler), served)
    }

    /// HTTP/1.1 with a `ClientWatch` in every connection (see `ClientConnection`).
    public static var httpServer: HTTPServerBuilder { .http1(configuration: .init(additionalChannelHandlers: [ClientWatch()])) }

    /// The services `run` runs, for callers that run them in their own ServiceGroup (tests).
    public static func services(_ configuration: ServerConfiguration, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> [any Service] {
        let (app, scheduler, _) = try make(configuration, onRunning: onRunning)
        return [scheduler, app]
    }

    /// Serves until SIGTERM or SIGINT; in-flight requests finish first.
    public static func run(_ configuration: ServerConfiguration, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let services = try Self.services(configuration, onRunning: onRunning)
        var logger = Logger(label: "electra-serve")
        logger.logLevel = .warning
        // Shut down in reverse order: the HTTP server drains first, then the batcher.
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch let e as IOError where e.errnoCode == EADDRINUSE {
            throw ElectraError("cannot listen on \(configuration.host):\(configuration.port): Address already in use (another server there?); choose another port")
        }
    }
}

/// The batching loop as a service: it ends when the group shuts down, after the server.
public struct SchedulerService: Service {
    let scheduler: BatchScheduler
    public func run() async throws {
        // Graceful shutdown drains the queue; cancellation (the group ends because another
        // service failed, e.g. the port is taken) must end the loop too, or the process hangs.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await scheduler.loop()
            } onGracefulShutdown: {
                scheduler.stop()
            }
        } onCancel: {
            scheduler.stop()
        }
    }
}
