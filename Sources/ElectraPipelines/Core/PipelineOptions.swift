import Electra

/// How a pipeline loads and runs its model. Every pipeline takes one.
public struct PipelineOptions: Sendable {
    /// Number format of the encoder's linear layers (fp32 reference, int8, bf16).
    public var dtype: InferenceDType
    /// Texts (or windows) per forward pass; batches are sorted by length and padded to their longest.
    public var batchSize: Int
    /// Load a folder whose head weights are missing (they are then random, so the answers mean
    /// nothing): for tests and for heads about to be trained. Off by default: an error.
    public var allowUntrainedHead: Bool
    /// Called after each forward pass with (items done, items in all), from the calling thread.
    /// Library code never prints.
    public var progress: (@Sendable (_ done: Int, _ total: Int) -> Void)?

    public init(dtype: InferenceDType = .fp32, batchSize: Int = 32, allowUntrainedHead: Bool = false,
                progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) {
        self.dtype = dtype
        self.batchSize = batchSize
        self.allowUntrainedHead = allowUntrainedHead
        self.progress = progress
    }

    func validated() throws -> PipelineOptions {
        guard batchSize > 0 else { throw ElectraError("batchSize must be positive, got \(batchSize)") }
        return self
    }

    /// Validated, with `dtype` set on the model a pipeline runs (one passed in already loaded
    /// too: the option is never dropped). bf16 without native products runs in fp32.
    func applied(to model: some ElectraHeadModel) throws -> PipelineOptions {
        let o = try validated()
        model.setInferenceDType(dtype.resolved)
        return o
    }
}
