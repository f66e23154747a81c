// Seedable pseudo-random numbers for the kernels: xoshiro256** seeded through splitmix64
// (public-domain algorithms by D. Blackman and S. Vigna, https://prng.di.unimi.it/).
//
// One generator per task, seeded from a 64-bit value drawn in Python, so that results do not
// depend on the thread count. Header-only, std only.
#pragma once

#include <cstdint>

namespace icecore {

/// xoshiro256** 1.0: 256-bit state, period 2^256 - 1; the state is filled by splitmix64.
class Xoshiro256 {
public:
    explicit Xoshiro256(std::uint64_t seed) {
        for (auto& v : s_) v = splitmix64(seed);
    }

    /// Next 64 random bits.
    std::uint64_t next() {
        const std::uint64_t result = rotl(s_[1] * 5u, 7) * 9u;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform double in [0, 1) from the upper 53 bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    /// One splitmix64 step: advances `x` and returns the mixed value.
    static std::uint64_t splitmix64(std::uint64_t& x) {
        std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t s_[4]{};
};

}  // namespace icecore
