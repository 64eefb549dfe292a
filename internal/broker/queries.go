package broker

func (b *Broker) registerQueryProcessors() {}
