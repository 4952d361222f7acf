"""Learning: definition scripts' framework, the data pipeline, training runs and model directories. The only stage that imports TensorFlow."""
