// Benchmarks arrive with the package's first features.
console.log("@kaudit/sources: no benchmarks yet");
