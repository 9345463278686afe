import Electra
import Foundation

/// `electra serve`'s settings (TEI's flag names where TEI has them).
public struct ServerConfiguration: Sendable {
    public var modelFolder: URL
    /// What /info and /v1/embeddings call the model (the Hub name or the folder).
    public var modelID: String
    public var host = "127.0.0.1"
    public var port = 8080
    public var dtype = InferenceDType.fp32
    /// Tokens per forward pass, padding counted (TEI: 16384).
    public var maxBatchTokens = 16384
    /// Inputs per forward pass (TEI: no limit).
    public var maxBatchRequests: Int?
    /// Inputs being served at once; more is 429 (TEI: 512).
    public var maxConcurrentRequests = 512
    /// Inputs one request may carry; more is 413 (TEI: 32).
    public var maxClientBatchSize = 32
    /// Cut inputs longer than the model instead of refusing them, when a request does not say.
    public var autoTruncate = false
    /// /embed pooling: mean (sentence-transformers) or cls.
    public var pooling = "mean"
    /// Requests must carry `Authorization: Bearer <key>` (not /health, /metrics, /openapi.json).
    public var apiKey: String?
    /// Largest request body, in bytes (TEI's --payload-limit: 2 MB).
    public var payloadLimit = 2_000_000

    public init(modelFolder: URL, modelID: String) {
        self.modelFolder = modelFolder
        self.modelID = modelID
    }

    public func validated() throws -> ServerConfiguration {
        guard (1...65535).contains(port) || port == 0 else { throw ElectraError("--port must be in 1...65535, got \(port)") }
        guard maxBatchTokens > 0 else { throw ElectraError("--max-batch-tokens must be positive, got \(maxBatchTokens)") }
        if let m = maxBatchRequests, m <= 0 { throw ElectraError("--max-batch-requests must be positive, got \(m)") }
        guard maxConcurrentRequests > 0 else { throw ElectraError("--max-concurrent-requests must be positive, got \(maxConcurrentRequests)") }
        guard maxClientBatchSize > 0 else { throw ElectraError("--max-client-batch-size must be positive, got \(maxClientBatchSize)") }
        guard ["mean", "cls"].contains(pooling) else { throw ElectraError("--pooling must be mean or cls, got '\(pooling)'") }
        guard payloadLimit > 0 else { throw ElectraError("--payload-limit must be positive, got \(payloadLimit)") }
        if let k = apiKey, k.isEmpty { throw ElectraError("--api-key is empty") }
        return self
    }
}
