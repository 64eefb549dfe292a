package broker

func (b *Broker) registerSendProcessors() {}
