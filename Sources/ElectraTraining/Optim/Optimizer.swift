import Foundation
import Electra

/// A first-order optimizer over named parameters.
///
///     let schedule = LRSchedule.linear(peak: 1e-4, warmupSteps: 100, totalSteps: 1000)
///     let opt = AdamW(parameters: model.parameters.uniqueParameters, weightDecay: 0.01)
///     ... backward fills the grads ...
///     Gradients.clipGlobalNorm(model.parameters, maxNorm: 1)
///     opt.step(learningRate: schedule.learningRate(at: opt.stepCount))
///     model.parameters.zeroGradients()
public protocol Optimizer: AnyObject {
    /// "adamw" or "electra-adam-weight-decay"; stored with the state.
    var kind: String { get }
    /// Number of updates applied so far (0 before the first).
    var stepCount: Int { get }
    /// The optimized parameters, each object once, with their moments and settings.
    var parameters: [OptimizedParameter] { get }
    /// Applies one update with base rate `learningRate` (each parameter's rate is this times
    /// its multiplier). Parameters whose `grad` is nil are left alone, moments included.
    func step(learningRate: Float)
    /// A deep copy of the moments and the step count.
    func state() -> OptimizerState
    /// Replaces the moments and step count; checks every name and shape first and changes
    /// nothing when it throws.
    func restore(_ state: OptimizerState) throws
    /// Writes the state as a safetensors file, atomically (see `OptimizerState`).
    func saveState(to url: URL) throws
    /// Restores from a file written by `saveState(to:)`; errors name the file.
    func restoreState(from url: URL) throws
}

extension Optimizer {
    public func saveState(to url: URL) throws { try state().write(to: url) }

    public func restoreState(from url: URL) throws {
        do {
            try restore(OptimizerState(contentsOf: url))
        } catch let e as ElectraError {
            throw e.message.hasPrefix(url.lastPathComponent) ? e : ElectraError("\(url.lastPathComponent): \(e.message)")
        }
    }
}

/// One parameter as an optimizer sees it.
public struct OptimizedParameter: @unchecked Sendable {
    /// The parameter's HF name (the first name it was registered under).
    public let name: String
    public let parameter: Parameter
    public let decays: Bool
    public let learningRateMultiplier: Float
    /// First moment (PyTorch's `exp_avg`, ELECTRA's `adam_m`).
    public let expAvg: Tensor
    /// Second moment (PyTorch's `exp_avg_sq`, ELECTRA's `adam_v`).
    public let expAvgSq: Tensor
}

/// The shared machinery of the two Adam variants: parameters, moments, state IO, and a
/// SIMD8 update run in parallel over all parameters as one flat index space.
public class AdamOptimizer: Optimizer, @unchecked Sendable {
    enum Rule { case torchAdamW, electra }

    public let kind: String
    public let beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    public private(set) var stepCount = 0
    public let parameters: [OptimizedParameter]
    let rule: Rule
    /// Extra learning-rate factors by parameter object for the next `step` (absent: 1), set
    /// per step by the trainer from the task: a model that joins a run late ramps up its own
    /// rate as the run's warmup did for the others.
    public var stepScales: [ObjectIdentifier: Float] = [:]

    init(
        rule: Rule, kind: String, parameters named: [(name: String, parameter: Parameter)],
        beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float,
        decayPolicy: WeightDecayPolicy, learningRateMultiplier: ((String) -> Float)?
    ) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Adam betas must be in [0, 1)")
        precondition(epsilon >= 0 && weightDecay >= 0, "epsilon and weight decay must be >= 0")
        self.rule = rule
        self.kind = kind
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        var seen = Set<ObjectIdentifier>()
        var list: [OptimizedParameter] = []
        for (name, p) in named where seen.insert(ObjectIdentifier(p)).inserted {
            list.append(OptimizedParameter(
                name: name, parameter: p,
                decays: decayPolicy.decays(name: name, parameter: p),
                learningRateMultiplier: learningRateMultiplier?(name) ?? 1,
                expAvg: Tensor(zeros: p.shape), expAvgSq: Tensor(zeros: p.shape)))
        }
        parameters = list
    }

    /// Per-parameter learning rates by name (the first name of each parameter).
    public var learningRateMultipliers: [String: Float] {
        Dictionary(uniqueKeysWithValues: parameters.map { ($0.name, $0.learningRateMultiplier) })
    }

    public func step(learningRate: Float) {
        stepCount += 1
        var active: [OptimizedParameter] = []
        active.reserveCapacity(parameters.count)
        for p in parameters {
            guard let g = p.parameter.grad else { continue }
            precondition(g.shape == p.parameter.shape,
                         "gradient of \(p.name) has shape \(shapeString(g.shape)), the parameter \(shapeString(p.parameter.shape))")
            active.append(p)
        }
        let segs = FlatSegments(counts: active.map { $0.parameter.value.count })
        let lr = Double(learningRate)
        switch rule {
        case .torchAdamW:
            let t = Double(stepCount)
            let bc1 = 1 - pow(Double(beta1), t)
            let bc2Sqrt = (1 - pow(Double(beta2), t)).squareRoot()
            let scalars = active.map { p -> AdamWScalars in
                let plr = lr * Double(p.learningRateMultiplier) * Double(stepScales[ObjectIdentifier(p.parameter)] ?? 1)
                return AdamWScalars(
                    decayFactor: p.decays ? Float(1 - plr * Double(weightDecay)) : 1,
                    beta1: beta1, oneMinusBeta1: Float(1 - Double(beta1)),
                    beta2: beta2, oneMinusBeta2: Float(1 - Double(beta2)),
                    negStepSize: Float(-plr / bc1), bc2Sqrt: Float(bc2Sqrt), epsilon: epsilon)
            }
            segs.parallelForEach { _, k, r in
                let p = active[k], o = r.lowerBound
                adamWUpdate(p.parameter.value.pointer + o, p.parameter.grad!.pointer + o,
                            p.expAvg.pointer + o, p.expAvgSq.pointer + o, r.count, scalars[k])
            }
        case .electra:
            let scalars = active.map { p -> ElectraScalars in
                ElectraScalars(
                    learningRate: Float(lr * Double(p.learningRateMultiplier) * Double(stepScales[ObjectIdentifier(p.parameter)] ?? 1)),
                    weightDecay: p.decays ? weightDecay : 0,
                    beta1: beta1, oneMinusBeta1: Float(1 - Double(beta1)),
                    beta2: beta2, oneMinusBeta2: Float(1 - Double(beta2)), epsilon: epsilon)
            }
            segs.parallelForEach { _, k, r in
                let p = active[k], o = r.lowerBound
                electraUpdate(p.parameter.value.pointer + o, p.parameter.grad!.pointer + o,
                              p.expAvg.pointer + o, p.expAvgSq.pointer + o, r.count, scalars[k])
            }
        }
        for p in active { p.parameter.markChanged() }
    }

    // MARK: state

    public func state() -> OptimizerState {
        var tensors: [String: Tensor] = [:]
        for p in parameters {
            tensors[OptimizerState.expAvgPrefix + p.name] = p.expAvg.copy()
            tensors[OptimizerState.expAvgSqPrefix + p.name] = p.expAvgSq.copy()
        }
        return OptimizerState(kind: kind, step: stepCount, tensors: tensors)
    }

    public func restore(_ state: OptimizerState) throws {
        guard state.kind == kind else {
            throw ElectraError("optimizer state is for '\(state.kind)', but this optimizer is '\(kind)'")
        }
        guard state.step >= 0 else { throw ElectraError("optimizer state has a negative step (\(state.step))") }
        var expected = Set<String>()
        var pairs: [(Tensor, Tensor)] = []
        for p in parameters {
            for (prefix, dst) in [(OptimizerState.expAvgPrefix, p.expAvg), (OptimizerState.expAvgSqPrefix, p.expAvgSq)] {
                let key = prefix + p.name
                expected.insert(key)
                guard let src = state.tensors[key] else {
                    throw ElectraError("optimizer state has no tensor '\(key)' for parameter \(p.name)")
                }
                guard src.shape == dst.shape else {
                    throw ElectraError("optimizer state tensor '\(key)' has shape \(shapeString(src.shape)), but parameter \(p.name) has shape \(shapeString(dst.shape))")
                }
                pairs.append((src, dst))
            }
        }
        let extra = state.tensors.keys.filter { !expected.contains($0) }.sorted()
        if !extra.isEmpty {
            let shown = extra.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            throw ElectraError("optimizer state has \(extra.count) tensor(s) for no parameter of this model: \(shown)\(extra.count > 5 ? ", ..." : "")")
        }
        for (src, dst) in pairs { dst.pointer.update(from: src.pointer, count: dst.count) }
        stepCount = state.step
    }

    /// Writes the state as a safetensors file (atomically), without an intermediate copy.
    public func saveState(to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        for p in parameters {
            tensors[OptimizerState.expAvgPrefix + p.name] = p.expAvg
            tensors[OptimizerState.expAvgSqPrefix + p.name] = p.expAvgSq
        }
        try OptimizerState(kind: kind, step: stepCount, tensors: tensors).write(to: url)
    }

}

/// PyTorch's `torch.optim.AdamW` (single-tensor path), per element, in this order:
///
///     p  *= 1 - lr * wd                      (decoupled decay, decaying parameters only)
///     m  += (1 - b1) * (g - m)               (exp_avg.lerp_(grad, 1 - b1))
///     v   = v * b2 + (1 - b2) * g * g
///     p  -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
///
/// with t the step number counting this one (1 for the first update). Defaults are
/// PyTorch's: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. Decay skips LayerNorm weights
/// and biases by default (`decayPolicy: .byRole`), as HF's Trainer groups them; use `.all`
/// for PyTorch's single-group behaviour. Each parameter keeps the global step count
/// (PyTorch counts per parameter; they differ only for a parameter that has no gradient
/// on some steps).
public final class AdamW: AdamOptimizer, @unchecked Sendable {
    public init(
        parameters: [(name: String, parameter: Parameter)],
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01,
        decayPolicy: WeightDecayPolicy = .byRole, learningRateMultiplier: ((String) -> Float)? = nil
    ) {
        super.init(rule: .torchAdamW, kind: "adamw", parameters: parameters,
                   beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                   decayPolicy: decayPolicy, learningRateMultiplier: learningRateMultiplier)
    }
}

/// google-research/electra's `AdamWeightDecayOptimizer` (model/optimization.py), BERT's
/// optimizer: Adam WITHOUT bias correction and with decoupled weight decay, per element
///
///     m = b1 * m + (1 - b1) * g
///     v = b2 * v + (1 - b2) * g^2
///     p -= lr * (m / (sqrt(v) + eps) + wd * p)      (wd only for decaying parameters)
///
/// Defaults are the original's `create_optimizer`: betas (0.9, 0.999), eps 1e-6, and the
/// recipe's weight decay 0.01. Its pretraining loop clips with `tf.clip_by_global_norm(1.0)`
/// (`Gradients.clipGlobalNorm(_, maxNorm: 1, epsilon: 0)`).
public final class ElectraAdamWeightDecay: AdamOptimizer, @unchecked Sendable {
    public init(
        parameters: [(name: String, parameter: Parameter)],
        beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-6, weightDecay: Float = 0.01,
        decayPolicy: WeightDecayPolicy = .byRole, learningRateMultiplier: ((String) -> Float)? = nil
    ) {
        super.init(rule: .electra, kind: "electra-adam-weight-decay", parameters: parameters,
                   beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay,
                   decayPolicy: decayPolicy, learningRateMultiplier: learningRateMultiplier)
    }
}
