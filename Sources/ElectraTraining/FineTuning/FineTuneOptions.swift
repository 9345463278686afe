import Electra

/// Fine-tuning settings. Defaults are the original ELECTRA recipe (ELECTRA-NOTES.md):
/// lr 1e-4, layer-wise decay 0.8, 3 epochs, 10% warmup, weight decay 0.01, batch 32,
/// max length 128, AdamWeightDecay (eps 1e-6, no bias correction), clip 1.0, ELECTRA's
/// warmup-times-linear-decay schedule.
public struct FineTuneOptions: Sendable {
    public enum OptimizerKind: String, Sendable, CaseIterable { case adamw, electra }
    public enum ScheduleKind: String, Sendable, CaseIterable { case electra, linear, constant }

    public var learningRate: Float = 1e-4
    public var layerwiseDecay: Double = 0.8
    public var epochs: Int = 3
    public var warmupFraction: Double = 0.1
    public var weightDecay: Float = 0.01
    public var batchSize: Int = 32
    /// Micro-batches of `batchSize` whose gradients are averaged into one optimizer step.
    public var gradientAccumulation: Int = 1
    public var maxLength: Int = 128
    public var optimizer: OptimizerKind = .electra
    public var adamEpsilon: Float = 1e-6
    public var maxGradNorm: Float = 1.0
    public var schedule: ScheduleKind = .electra
    public var seed: UInt64 = 42
    public var shuffle = true
    /// Overrides every dropout probability of the config when set (`--dropout 0`).
    public var dropout: Float?
    public var maxSteps: Int?
    /// Validation every N steps (0: at the end of each epoch only).
    public var evalSteps: Int = 0
    /// Checkpoint every N steps (0: at the end of each epoch only).
    public var saveSteps: Int = 0
    public var logSteps: Int = 10

    public init() {}
}
