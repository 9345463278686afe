import Electra

/// A learning rate as a function of the optimizer step.
///
/// Step convention (the same as HF's `LambdaLR` schedules and ELECTRA's TF `global_step`):
/// `step` is the number of optimizer updates already applied, so the first update uses
/// `learningRate(at: 0)`. With warmup that rate is 0: the first update only fills the Adam
/// moments. The loop is
///
///     optimizer.step(learningRate: schedule.learningRate(at: optimizer.stepCount))
public protocol LearningRateSchedule: Sendable {
    func learningRate(at step: Int) -> Float
}

/// The schedules of the HF Trainer and of the original ELECTRA code. Values are computed in
/// Double (as Python does) and rounded to Float once.
public enum LRSchedule: LearningRateSchedule, Sendable, Equatable {
    /// `peak` at every step.
    case constant(peak: Float)
    /// HF `get_constant_schedule_with_warmup`: peak * step / warmup for step < warmup, then peak.
    case constantWithWarmup(peak: Float, warmupSteps: Int)
    /// HF `get_linear_schedule_with_warmup`: peak * step / max(1, warmup) for step < warmup,
    /// then peak * max(0, (total - step) / max(1, total - warmup)): 0 at `totalSteps`.
    case linear(peak: Float, warmupSteps: Int, totalSteps: Int)
    /// ELECTRA's `create_optimizer`: `tf.train.polynomial_decay(peak, step, total, end 0,
    /// power, cycle=False)` times `min(1, step / warmup)`, i.e.
    /// peak * (1 - min(step, total) / total)^power * min(1, step / warmup).
    /// Warmup and decay multiply (the decay runs from step 0, not from the end of warmup),
    /// so the peak itself is never reached exactly. `warmupSteps` 0 means no warmup (the
    /// original would divide 0 by 0 at step 0).
    case electra(peak: Float, warmupSteps: Int, totalSteps: Int, power: Double = 1)

    public func learningRate(at step: Int) -> Float {
        Float(factor(at: step) * peakValue)
    }

    public var peakValue: Double {
        switch self {
        case .constant(let p), .constantWithWarmup(let p, _), .linear(let p, _, _), .electra(let p, _, _, _):
            Double(p)
        }
    }

    /// The multiplier on the peak at `step` (HF's `lr_lambda`).
    public func factor(at step: Int) -> Double {
        let s = Double(step)
        switch self {
        case .constant:
            return 1
        case .constantWithWarmup(_, let w):
            return step < w ? s / Double(max(1, w)) : 1
        case .linear(_, let w, let total):
            if step < w { return s / Double(max(1, w)) }
            return max(0, Double(total - step) / Double(max(1, total - w)))
        case .electra(_, let w, let total, let power):
            let clamped = min(s, Double(total))
            let decay = total > 0 ? pow(1 - clamped / Double(total), power) : 0
            let warm = w > 0 ? min(1, s / Double(w)) : 1
            return decay * warm
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
