//! The opset-5 reader on node graphs built here: a cycle and shared nodes that expand without
//! bound are refused at load, naming the node and the limit.
