// Benchmarks arrive with the package's first features.
console.log("@kaudit/analyze: no benchmarks yet");
