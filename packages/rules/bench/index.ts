// Benchmarks arrive with the package's first features.
console.log("@kaudit/rules: no benchmarks yet");
