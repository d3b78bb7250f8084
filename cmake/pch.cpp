// The translation unit that compiles cmake/pch.h (the precompiled header every target reuses).
