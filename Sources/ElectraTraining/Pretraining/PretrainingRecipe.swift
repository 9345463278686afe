import Electra
import Foundation

/// How a pretraining run trains, beyond the model's shape and the trainer's options: the
/// generator's size, masking, sampling, dropout, how the positions start, and the warmups
/// that take a small model off the unigram plateau quickly (docs/pretraining.md, "Leaving the
/// unigram plateau"). `PretrainingPreset` gives each shape its defaults; `makeTask` builds the
/// training task of either objective from it.
public struct PretrainingRecipe: Sendable, Equatable {
    public enum Objective: String, Sendable, CaseIterable { case rtd, mlm }

    /// The generator's hidden size as a share of the discriminator's.
    public var generatorSize: Double
    public var masking = MaskingOptions()
    /// The temperature replacements are sampled at once the temperature warmup is over.
    public var temperature: Float
    /// Sampling starts here when the discriminator joins, falling linearly to `temperature`
    /// over `warmups.temperature` steps (nil: `temperature` throughout).
    public var startTemperature: Float?
    public var generatorWeight: Float = 1
    public var discriminatorWeight: Float = 50
    /// Dropout of both models (hidden and attention).
    public var dropout: Float = 0.1
    public var positionEmbeddingType: PositionEmbeddingType = .absolute
    public var positionInitialization: PositionInitialization = .normal
    /// The sinusoid table's RMS (nil: the config's initializer_range, the normal init's std).
    public var positionInitRMS: Float?
    /// The std `embeddings_project` (embedding size -> hidden size, present when they differ)
    /// starts at (nil: the config's initializer_range, HF's). HF's 0.02 maps the embedding
    /// LayerNorm's unit-RMS output to about 0.02 x sqrt(E) (0.23 at E = 128), so the first
    /// layer's attention logits start about 20 x flatter than with E = H; 1/sqrt(E) keeps RMS 1.
    public var projectionInitStd: Float?
    /// The first piece length of the sequence length warmup.
    public var sequenceLengthStart = 16
    /// The discriminator's encoder starts as the generator's when it joins (needs a generator
    /// of the discriminator's shape and a generator warmup).
    public var discriminatorFromGenerator = false
    public var warmups = Warmups()
    /// Whether `warmups` shrink for runs shorter than 4 x the longest of the sequence-length
    /// and generator warmups (the presets' values do; values a user sets do not).
    public var scalesWarmups = true

    /// Optimizer steps of each warmup phase.
    public struct Warmups: Sendable, Equatable {
        /// Pieces of the examples (16, 32, ... tokens) before whole ones (`SequenceLengthWarmup`).
        public var sequenceLength = 0
        /// RTD: the generator trains alone (its masked LM) before the discriminator joins.
        public var generator = 0
        /// RTD: the discriminator's own weights ramp their learning rate up from 0 after joining.
        public var discriminatorRamp = 0
        /// RTD: sampling falls from `startTemperature` to `temperature` after the discriminator joins.
        public var temperature = 0
        public init() {}
    }

    public init(generatorSize: Double, temperature: Float) {
        self.generatorSize = generatorSize
        self.temperature = temperature
    }

    /// The warmups of a run of `totalSteps` optimizer steps.
    public func warmups(totalSteps: Int) -> Warmups {
        let longest = max(warmups.sequenceLength, warmups.generator)
        guard scalesWarmups, longest > 0, totalSteps < 4 * longest else { return warmups }
        let f = Double(totalSteps) / Double(4 * longest)
        func scaled(_ v: Int) -> Int { v == 0 ? 0 : max(1, Int((Double(v) * f).rounded())) }
        var w = Warmups()
        w.sequenceLength = scaled(warmups.sequenceLength)
        w.generator = scaled(warmups.generator)
        w.discriminatorRamp = scaled(warmups.discriminatorRamp)
        w.temperature = scaled(warmups.temperature)
        return w
    }

    /// Checks every value a user can set; messages name the `electra pretrain` option.
    public func validate() throws {
        func check(_ ok: Bool, _ m: String) throws { if !ok { throw ElectraError(m) } }
        try masking.validate()
        try check(generatorSize > 0 && generatorSize <= 1, "--generator-size must be in (0, 1], got \(generatorSize)")
        for (name, v) in [("--discriminator-weight", discriminatorWeight), ("--generator-weight", generatorWeight), ("--temperature", temperature)] {
            try check(v.isFinite && v > 0, "\(name) must be a positive number, got \(v)")
        }
        if let t = startTemperature { try check(t.isFinite && t > 0, "--start-temperature must be a positive number, got \(t)") }
        try check(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got \(dropout)")
        if let r = positionInitRMS { try check(r.isFinite && r > 0, "--position-init-rms must be a positive number, got \(r)") }
        if let s = projectionInitStd { try check(s.isFinite && s > 0, "--projection-init-std must be a positive number, got \(s)") }
        try check(sequenceLengthStart >= 4 && sequenceLengthStart <= 1 << 20, "--seq-length-start must be at least 4 tokens, got \(sequenceLengthStart)")
        for (name, v) in [("--seq-length-warmup", warmups.sequenceLength), ("--generator-warmup", warmups.generator),
                          ("--discriminator-ramp", warmups.discriminatorRamp), ("--temperature-warmup", warmups.temperature)] {
            try check(v >= 0 && v <= 1 << 40, "\(name) must be a step count >= 0, got \(v)")
        }
        if discriminatorFromGenerator {
            try check(generatorSize == 1 && warmups.generator > 0,
                      "--discriminator-from-generator needs a generator of the discriminator's shape (--generator-size 1) and --generator-warmup > 0")
        }
    }

    /// The training task: RTD (a generator and a discriminator sharing their embeddings) or a
    /// masked LM of the discriminator's shape, each with this recipe, `heldOut` scored every
    /// evaluation. `discriminator` is the shape; dropout and position type come from here (the
    /// saved configs of a recipe without dropout keep the shape's, for fine-tuning).
    public func makeTask(
        objective: Objective, discriminator shape: ElectraConfig, data: PretrainingData, special: SpecialIds,
        seed: UInt64, extraFiles: [URL] = [], heldOut: PretrainingData? = nil, evalExamples: Int = 512
    ) throws -> any TrainingTask & PretrainingRun {
        try validate()
        var d = shape
        d.hiddenDropoutProb = dropout
        d.attentionProbsDropoutProb = dropout
        d.positionEmbeddingType = positionEmbeddingType
        let held = heldOut.map { HeldOutBatches(data: $0, examples: evalExamples, masking: masking, special: special) }
        func initPositions(_ p: Parameter) {
            if positionInitialization == .sinusoidal { PositionInitialization.sinusoidal(p, rms: positionInitRMS ?? d.initializerRange) }
        }
        // Rescales the drawn normal(0, initializer_range) weights: the same draws at the new std.
        func initProjection(_ table: ParameterTable) {
            guard let std = projectionInitStd, let p = table["electra.embeddings_project.weight"] else { return }
            scaleInPlace(p.pointer, p.value.count, std / d.initializerRange)
            p.markChanged()
        }
        switch objective {
        case .rtd:
            let g = try PretrainingPreset.generatorConfig(discriminator: d, size: generatorSize)
            let (disc, gen) = try PretrainingModels.build(discriminator: d, generator: g, seed: seed)
            initPositions(disc.backbone.embeddings.position)
            initProjection(disc.parameters)
            initProjection(gen.parameters)
            let t = ReplacedTokenDetectionTask(generator: gen, discriminator: disc, data: data, masking: masking, special: special,
                                               seed: seed, extraFiles: extraFiles)
            t.recipe = self
            t.heldOut = held
            if dropout == 0 && shape.hiddenDropoutProb > 0 { t.savedDropout = shape.hiddenDropoutProb }
            return t
        case .mlm:
            var c = d
            c.architectures = [ElectraForMaskedLM.architecture]
            let m = try ElectraForMaskedLM(config: c, seed: seed)
            initPositions(m.backbone.embeddings.position)
            initProjection(m.parameters)
            let t = MaskedLMPretrainingTask(model: m, data: data, masking: masking, special: special, seed: seed, extraFiles: extraFiles)
            t.recipe = self
            t.heldOut = held
            if dropout == 0 && shape.hiddenDropoutProb > 0 { t.savedDropout = shape.hiddenDropoutProb }
            return t
        }
    }
}

/// What a pretraining task adds to `TrainingTask`: its recipe's warmups, applied for the run's
/// length, and the unigram baseline its curves are drawn against.
public protocol PretrainingRun: AnyObject {
    var recipe: PretrainingRecipe { get set }
    /// The data, masking and sequence length warmup the batches come from.
    var batches: MaskedBatchSource { get }
    var baseline: UnigramBaseline { get }
    /// The warmups in effect (the recipe's, for the run's length once known).
    var warmups: PretrainingRecipe.Warmups { get }
}

extension PretrainingRun {
    /// The warmups in effect applied to the batches (the sequence length warmup).
    func applyWarmups() {
        batches.useLengthWarmup(steps: warmups.sequenceLength, start: recipe.sequenceLengthStart)
    }
}

extension ElectraConfig {
    /// This config with both dropout probabilities set to `p`.
    func withDropout(_ p: Float) -> ElectraConfig {
        var c = self
        c.hiddenDropoutProb = p
        c.attentionProbsDropoutProb = p
        return c
    }
}

/// Multiply-adds per token of the pretraining passes, to size time budgets when steps differ
/// in cost: per layer 12 h^2 (the projections and the FFN at 4 h) plus 2 L h (attention over
/// L positions); the masked LM adds its vocabulary-wide head at the masked share of tokens.
enum StepCost {
    static func encoder(_ c: ElectraConfig, length: Int) -> Double {
        let h = Double(c.hiddenSize)
        return Double(c.numHiddenLayers) * (12 * h * h + 2 * Double(length) * h)
    }

    static func maskedLM(_ c: ElectraConfig, length: Int, maskShare: Double) -> Double {
        encoder(c, length: length) + maskShare * Double(c.embeddingSize * c.vocabSize)
    }

    static func discriminator(_ c: ElectraConfig, length: Int) -> Double {
        encoder(c, length: length) + Double(c.hiddenSize * c.hiddenSize)
    }
}
