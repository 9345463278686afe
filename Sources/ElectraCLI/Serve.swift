import ArgumentParser
import Electra
import ElectraServer
import Foundation

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "An HTTP server: Hugging Face text-embeddings-inference's API (embed, rerank, predict, tokenize, ...) and ELECTRA's tasks, with dynamic batching.",
        discussion: "Routes follow the model's head: a classifier serves /predict (and /rerank with one output), a discriminator /detect, a generator /fill-mask, NER /token-classification, QA /question-answering; every model /embed, /embed_all, /v1/embeddings, /tokenize, /decode, /info, /health, /metrics, /openapi.json. SIGTERM or Ctrl-C stops accepting, finishes what is in flight and exits 0. docs/serve.md.")

    @Option(help: "Model folder or Hub name (default: the shipped \(ShippedModel.discriminator)).") var model: String?
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port, printed).") var port = 8080
    @Option(help: ArgumentHelp(stringLiteral: DTypeOption.help)) var dtype = "fp32"
    @Option(help: "Tokens (of all windows) per batch the scheduler takes; a batch runs as one packed forward, with no padding.") var maxBatchTokens = 16384
    @Option(help: "Inputs per forward pass (default: no limit but the tokens).") var maxBatchRequests: Int?
    @Option(help: "Inputs served at once; more get 429.") var maxConcurrentRequests = 512
    @Option(help: "Inputs one request may carry; more get 413.") var maxClientBatchSize = 32
    @Flag(help: "Cut inputs longer than the model when a request does not set `truncate`.") var autoTruncate = false
    @Option(help: "/embed pooling: mean or cls.") var pooling = "mean"
    @Option(help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Require `Authorization: Bearer KEY` (not on /health, /metrics, /openapi.json).") var apiKey: String?
    @Option(help: "Largest request body in bytes.") var payloadLimit = 2_000_000

    func run() throws {
        try runReportingErrors {
            try ThreadOption.apply(threads)
            let d = try DTypeOption.parse(dtype)
            let folder = try model.map { try ModelArgument.folder($0, option: "--model") }
                ?? ShippedModel.locate(ShippedModel.discriminator, option: "--model", expected: "ELECTRA")
            var c = ServerConfiguration(modelFolder: folder, modelID: model ?? ShippedModel.discriminator)
            c.host = host
            c.port = port
            c.dtype = d
            c.maxBatchTokens = maxBatchTokens
            c.maxBatchRequests = maxBatchRequests
            c.maxConcurrentRequests = maxConcurrentRequests
            c.maxClientBatchSize = maxClientBatchSize
            c.autoTruncate = autoTruncate
            c.pooling = pooling
            c.apiKey = apiKey ?? ProcessInfo.processInfo.environment["API_KEY"]
            c.payloadLimit = payloadLimit
            let config = try c.validated()
            final class Outcome: @unchecked Sendable { var error: Error? }
            let outcome = Outcome(), done = DispatchSemaphore(value: 0)
            Task.detached {
                do {
                    try await ElectraServer.run(config) { port in
                        FileHandle.standardError.write(Data("electra serve: \(config.modelID) on http://\(config.host):\(port) (routes: GET /info)\n".utf8))
                    }
                } catch { outcome.error = error }
                done.signal()
            }
            done.wait()
            if let e = outcome.error as? ElectraError { throw e }
            if let e = outcome.error { throw ElectraError("the server stopped: \(e)") }
        }
    }
}
