import Electra

/// The trainer's settings. Defaults are the original ELECTRA fine-tuning recipe
/// (ELECTRA-NOTES.md): lr 1e-4, layer-wise decay 0.8, 3 epochs, 10% warmup, weight decay
/// 0.01, batch 32, AdamWeightDecay (eps 1e-6, no bias correction), clip 1.0, ELECTRA's
/// warmup-times-linear-decay schedule.
public struct TrainerOptions: Sendable {
    public enum OptimizerKind: String, Sendable, CaseIterable { case adamw, electra }
    public enum ScheduleKind: String, Sendable, CaseIterable { case electra, linear, constant, constantWithWarmup = "constant_with_warmup" }

    public var learningRate: Float = 1e-4
    public var layerwiseDecay: Double = 0.8
    public var epochs: Int = 3
    public var warmupFraction: Double = 0.1
    /// Warmup in steps; overrides `warmupFraction` when set.
    public var warmupSteps: Int?
    public var weightDecay: Float = 0.01
    public var batchSize: Int = 32
    /// Micro-batches of `batchSize` whose gradients are averaged into one optimizer step.
    public var gradientAccumulation: Int = 1
    public var optimizer: OptimizerKind = .electra
    public var adamEpsilon: Float = 1e-6
    /// Adam's second-moment decay (0.999 in both recipes; lower forgets old gradient scales sooner).
    public var adamBeta2: Float = 0.999
    public var maxGradNorm: Float = 1.0
    public var schedule: ScheduleKind = .electra
    public var seed: UInt64 = 42
    public var shuffle = true
    public var maxSteps: Int?
    /// Wall-clock budget in seconds: the run saves and ends when it is spent. Without
    /// `maxSteps`, the schedule's length is set from the speed of the first steps so the
    /// learning rate decays to zero as the time runs out.
    public var maxTime: Double?
    /// On SIGINT/SIGTERM, save a checkpoint at the end of the current step and stop.
    public var checkpointOnSignal = false
    /// Validation every N steps (0: at the end of each epoch only).
    public var evalSteps: Int = 0
    /// Checkpoint every N steps (0: at the end of each epoch only).
    public var saveSteps: Int = 0
    public var logSteps: Int = 10
    /// Keep at most N checkpoints (oldest removed first; the best one is always kept). nil: all.
    public var saveTotalLimit: Int?
    /// Validation metric that ranks checkpoints; the final model is the best checkpoint's.
    public var metricForBest: String?
    /// Whether a larger `metricForBest` is better (default: true, except for losses).
    public var greaterIsBetter: Bool?
    /// Stop after N validations in a row without improving `metricForBest`.
    public var earlyStoppingPatience: Int?

    /// The products' number format: fp32, or bf16 for mixed precision (bf16 operands forward
    /// and backward with fp32 accumulation, fp32 master weights, gradients and optimizer
    /// state; checkpoints in fp32).
    public var computeDType: InferenceDType = .fp32

    public init() {}

    /// Checks every value a user can set; the message names the option.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ElectraError(message) } }
        try check(learningRate.isFinite && learningRate > 0, "--learning-rate must be a positive number, got \(learningRate)")
        try check(layerwiseDecay > 0 && layerwiseDecay <= 1, "--layerwise-lr-decay must be in (0, 1], got \(layerwiseDecay)")
        try check(epochs > 0 && epochs <= 1 << 20, "--epochs must be in 1...1048576, got \(epochs)")
        try check(warmupFraction >= 0 && warmupFraction <= 1, "--warmup is a fraction of all steps in [0, 1], got \(warmupFraction)")
        try check(weightDecay.isFinite && weightDecay >= 0, "--weight-decay must be >= 0, got \(weightDecay)")
        try check(batchSize > 0 && batchSize <= 1 << 20, "--batch-size must be in 1...1048576, got \(batchSize)")
        try check(gradientAccumulation > 0 && gradientAccumulation <= 1 << 20, "--gradient-accumulation-steps must be in 1...1048576, got \(gradientAccumulation)")
        try check(adamEpsilon.isFinite && adamEpsilon > 0, "--adam-epsilon must be positive, got \(adamEpsilon)")
        try check(adamBeta2 > 0 && adamBeta2 < 1, "--adam-beta2 must be in (0, 1), got \(adamBeta2)")
        try check(maxGradNorm.isFinite && maxGradNorm > 0, "--max-grad-norm must be positive, got \(maxGradNorm)")
        try check(maxSteps.map { $0 > 0 && $0 <= 1 << 40 } ?? true, "--max-steps must be positive (at most 2^40), got \(maxSteps ?? 0)")
        try check(warmupSteps.map { $0 >= 0 && $0 <= 1 << 40 } ?? true, "--warmup-steps must be a step count >= 0, got \(warmupSteps ?? 0)")
        try check(maxTime.map { $0.isFinite && $0 > 0 && $0 < 1e9 } ?? true, "--max-time must be a positive duration (under 30 years)")
        try check(evalSteps >= 0 && saveSteps >= 0, "--eval-steps and --save-steps must be >= 0 (0: each epoch)")
        try check(logSteps > 0, "log steps must be positive")
        try check(computeDType != .int8, "--dtype int8 is for inference; training takes fp32 or bf16")
        try check(saveTotalLimit.map { $0 > 0 } ?? true, "--save-total-limit must be positive, got \(saveTotalLimit ?? 0)")
        if let p = earlyStoppingPatience {
            try check(p > 0, "--early-stopping-patience must be positive, got \(p)")
            try check(metricForBest != nil, "--early-stopping-patience needs --metric-for-best (the metric that must improve)")
        }
        if metricForBest != nil {
            try check(evalSteps == saveSteps,
                      "--metric-for-best scores each checkpoint by the validation at its step: give --eval-steps equal to --save-steps (now \(evalSteps) and \(saveSteps))")
        }
    }

    /// Whether larger values of `metric` are better.
    func higherIsBetter(_ metric: String) -> Bool {
        greaterIsBetter ?? !metric.lowercased().contains("loss")
    }
}
