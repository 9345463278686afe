import ElectraKernels
import Foundation

/// Builds parameters by HF path, loading each from the checkpoint when present and
/// initialising it as HF does when not (candle's VarBuilder idea): `vb.pp("encoder").pp("layer").pp(3)`.
public struct ParameterBuilder {
    public let table: ParameterTable
    let weights: CheckpointWeights?
    let path: [String]
    let state: LoadState

    /// What happened during a load: names initialised because absent, and file names used.
    final class LoadState {
        var missing: [String] = []
        var used: Set<String> = []
        var rng: Xoshiro256
        let initializerRange: Float
        let randomInit: Bool
        let shared: [String: Parameter]
        init(seed: UInt64, initializerRange: Float, randomInit: Bool, shared: [String: Parameter]) {
            rng = Xoshiro256(seed: seed)
            self.initializerRange = initializerRange
            self.randomInit = randomInit
            self.shared = shared
        }
    }

    /// `randomInit: false` leaves absent weights at zero (LayerNorm at one): for shape-only
    /// uses such as counting parameters, where drawing 100M normals would be wasted work.
    ///
    /// `shared` maps full HF names to parameters another model already owns: those names take
    /// that very object (no load, no initialisation), so two models train one weight (RTD's
    /// generator and discriminator share their embeddings this way). Unlike a tied name, a
    /// shared one is saved with each model, under its own name.
    public init(weights: CheckpointWeights?, initializerRange: Float, seed: UInt64 = 0, randomInit: Bool = true,
                shared: [String: Parameter] = [:]) {
        table = ParameterTable()
        self.weights = weights
        path = []
        state = LoadState(seed: seed, initializerRange: initializerRange, randomInit: randomInit, shared: shared)
    }

    private init(_ parent: ParameterBuilder, path: [String]) {
        table = parent.table
        weights = parent.weights
        self.path = path
        state = parent.state
    }

    /// A builder one level down the HF module tree.
    public func pp(_ component: String) -> ParameterBuilder { ParameterBuilder(self, path: path + [component]) }
    public func pp(_ index: Int) -> ParameterBuilder { pp(String(index)) }

    public func fullName(_ leaf: String) -> String { (path + [leaf]).joined(separator: ".") }

    /// Loads or initialises `leaf` under this path.
    public func parameter(_ leaf: String, shape: [Int], role: ParameterRole, paddingIndex: Int? = nil) throws -> Parameter {
        let name = fullName(leaf)
        if let p = state.shared[name] {
            guard p.value.shape == shape else {
                throw ElectraError("shared parameter \(name) has shape \(shapeString(p.value.shape)), this model needs \(shapeString(shape))")
            }
            if let w = weights, let stored = w.storedName(name) { state.used.insert(stored) }
            table.register(name, p)
            return p
        }
        if let w = weights, let t = try w.tensor(name, expectedShape: shape) {
            state.used.insert(w.storedName(name)!)
            let p = Parameter(t, role: role)
            table.register(name, p)
            return p
        }
        if weights != nil { state.missing.append(name) }
        let t = Tensor(zeros: shape)
        if state.randomInit || !role.isDrawn { role.initialize(t, std: state.initializerRange, rng: &state.rng) }
        if let pad = paddingIndex, shape.count == 2, pad < shape[0] {
            (t.pointer + pad * shape[1]).update(repeating: 0, count: shape[1])
        }
        let p = Parameter(t, role: role)
        table.register(name, p)
        return p
    }

    /// Registers `leaf` as another name of `target` (a tied weight). A stored copy in the
    /// checkpoint is consumed (not reported as unexpected) and ignored, as HF's tying does.
    public func tie(_ leaf: String, to target: Parameter) {
        let name = fullName(leaf)
        if let w = weights, let stored = w.storedName(name) { state.used.insert(stored) }
        table.register(name, target, tied: true)
    }

    public func linear(_ module: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true) throws -> Linear {
        let vb = pp(module)
        let w = try vb.parameter("weight", shape: [outFeatures, inFeatures], role: .linearWeight)
        let b = bias ? try vb.parameter("bias", shape: [outFeatures], role: .bias) : nil
        return Linear(weight: w, bias: b, inFeatures: inFeatures, outFeatures: outFeatures)
    }

    public func layerNorm(_ module: String, size: Int, eps: Float) throws -> LayerNormWeights {
        let vb = pp(module)
        return LayerNormWeights(
            gamma: try vb.parameter("weight", shape: [size], role: .layerNormWeight),
            beta: try vb.parameter("bias", shape: [size], role: .layerNormBias), eps: eps)
    }

    /// The load report: missing names (initialised) and unexpected names (unused).
    public func report() -> LoadReport {
        let unexpected = (weights?.storedNames ?? []).filter {
            !state.used.contains($0) && !CheckpointWeights.isIgnored($0)
        }
        return LoadReport(missing: state.missing, unexpected: unexpected, source: weights?.description)
    }
}

/// What HF prints after `from_pretrained`: weights that were initialised, weights not used.
public struct LoadReport: Sendable {
    public var missing: [String]
    public var unexpected: [String]
    public var source: String?

    public var warnings: [String] {
        var w: [String] = []
        if !missing.isEmpty {
            w.append("Some weights were not in \(source ?? "the checkpoint") and are newly initialized (train before use): \(missing.joined(separator: ", "))")
        }
        if !unexpected.isEmpty {
            w.append("Some weights of \(source ?? "the checkpoint") were not used: \(unexpected.joined(separator: ", "))")
        }
        return w
    }
}
